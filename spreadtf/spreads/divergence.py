"""Spread divergences: D(p~ || q~) between two distributions spread by the same kernel.

With a kernel whose Fourier transform is strictly positive, D(p~ || q~) = 0 if and only if p = q, so
these are valid divergences even when p and q have no densities or disjoint supports ([1],
Theorem 1).

The f-divergence family follows the companion paper [2] and the Csiszar convention of `tfp.vi`: an
f-function is a callable mapping log u, with u = p~(y) / q~(y), to f(u), convex in u with
f(1) = 0, and

    D_f(p~ || q~) = E_{y ~ q~}[ f(p~(y) / q~(y)) ] = E_{y ~ m}[ 2 f(u) / (1 + u) ],

with m = (p~ + q~) / 2. The estimator samples m (half the samples from p~, half from q~): sampling
q~ alone never visits regions where p~ has mass and q~ has almost none, and so misses their
contribution (e.g. it returns log(2) / 2 instead of log(2) for the Jensen-Shannon divergence of two
far-apart distributions). The weight 2 / (1 + u) is at most 2, so the estimator has bounded
importance weights whatever the overlap.

The references below serve every function in this module.

#### References

[1] Mingtian Zhang, Peter Hayes, Tom Bird, Raza Habib, David Barber. Spread Divergence.
    In International Conference on Machine Learning (ICML), 2020. https://arxiv.org/abs/1811.08968
[2] Mingtian Zhang, Thomas Bird, Raza Habib, Tianlin Xu, David Barber. Variational f-divergence
    Minimization. arXiv 1907.11891, 2019.
"""

import collections

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from spreadtf.spreads import spreading as spread_lib

tfd = tfp.distributions

__all__ = [
    'DivergenceEstimate', 'spread_kl', 'spread_f_divergence', 'kl_forward', 'kl_reverse',
    'jensen_shannon', 'total_variation', 'squared_hellinger',
]

DivergenceEstimate = collections.namedtuple('DivergenceEstimate', ['value', 'stderr'])
DivergenceEstimate.__doc__ = """A divergence value and its Monte Carlo standard error (0 if exact).

Fields:
  value: float tensor `[batch...]`, the broadcast batch shape of `p` and `q`.
  stderr: float tensor `[batch...]` like `value`; the standard error of the outer Monte Carlo
    average (it does not include the bias of a Monte Carlo `log_prob`, see `SpreadDistribution`).
"""


def kl_forward(logu):
  """f(u) = u log u: D_f(p || q) = KL(p || q).

  Args:
    logu: float tensor of log density ratios log u = log p(y) - log q(y), any shape.

  Returns:
    f(u), elementwise: a float tensor of the shape of `logu`.
  """
  return tf.exp(logu) * logu


def kl_reverse(logu):
  """f(u) = -log u: D_f(p || q) = KL(q || p).

  Args:
    logu: float tensor of log density ratios log u = log p(y) - log q(y), any shape.

  Returns:
    f(u), elementwise: a float tensor of the shape of `logu`.
  """
  return -logu


def jensen_shannon(logu):
  """f(u) = (u log u - (1 + u) log((1 + u) / 2)) / 2: D_f = JS(p, q), in [0, log 2] nats.

  JS(p, q) = KL(p || m) / 2 + KL(q || m) / 2 with m = (p + q) / 2. (Note `tfp.vi.jensen_shannon`
  is twice this and, unless self-normalised, shifted by -2 log 2.)

  Args:
    logu: float tensor of log density ratios log u = log p(y) - log q(y), any shape.

  Returns:
    f(u), elementwise: a float tensor of the shape of `logu`.
  """
  # u log u - (1 + u) log(1 + u) = -u softplus(-log u) - softplus(log u): no cancellation at
  # large u.
  u = tf.exp(logu)
  return 0.5 * (-u * tf.nn.softplus(-logu) - tf.nn.softplus(logu) + (1. + u) * np.log(2.))


def total_variation(logu):
  """f(u) = |u - 1| / 2: D_f = TV(p, q) = (1/2) integral |p - q|, in [0, 1].

  Args:
    logu: float tensor of log density ratios log u = log p(y) - log q(y), any shape.

  Returns:
    f(u), elementwise: a float tensor of the shape of `logu`.
  """
  return 0.5 * tf.abs(tf.math.expm1(logu))


def squared_hellinger(logu):
  """f(u) = (sqrt(u) - 1)^2: D_f = integral (sqrt(p) - sqrt(q))^2, in [0, 2].

  Args:
    logu: float tensor of log density ratios log u = log p(y) - log q(y), any shape.

  Returns:
    f(u), elementwise: a float tensor of the shape of `logu`.
  """
  return tf.square(tf.math.expm1(0.5 * logu))


def _mean_and_stderr(values, n):
  mean = tf.reduce_mean(values, axis=0)
  stderr = tf.math.reduce_std(values, axis=0) / tf.sqrt(tf.cast(n, values.dtype))
  return DivergenceEstimate(mean, stderr)


def _spread_pair(p, q, kernel, num_inner_samples, seed):
  # The same inner seed for both: common random numbers, so identical p and q give exactly 0.
  p_spread = spread_lib.spread(p, kernel, num_samples=num_inner_samples, seed=seed)
  q_spread = spread_lib.spread(q, kernel, num_samples=num_inner_samples, seed=seed)
  if (p_spread.event_shape.is_fully_defined() and q_spread.event_shape.is_fully_defined()
      and p_spread.event_shape != q_spread.event_shape):
    raise ValueError(f'`p` and `q` have different event shapes: {p_spread.event_shape} vs '
                     f'{q_spread.event_shape}.')
  return p_spread, q_spread


def _as_multivariate_normal(distribution):
  """A vector-event Gaussian as a `tfd.MultivariateNormalLinearOperator`; None if it is not one."""
  if isinstance(distribution, tfd.MultivariateNormalLinearOperator):
    return distribution
  if (isinstance(distribution, tfd.Independent)
      and isinstance(distribution.distribution, tfd.Normal)
      and distribution.event_shape.rank == 1):
    normal = distribution.distribution
    return tfd.MultivariateNormalDiag(normal.mean(), normal.stddev())
  return None


def _closed_form_kl(p, q):
  """Exact KL(p || q) if TFP has one, else None.

  Gaussian spreads come in different TFP families (a point mass spreads to `Independent(Normal)`,
  a `MultivariateNormalDiag` stays one) and TFP registers no KL across them: vector-event Gaussians
  are then compared as multivariate normals.
  """
  try:
    return tfd.kl_divergence(p, q)
  except NotImplementedError:
    pass
  p_gaussian, q_gaussian = _as_multivariate_normal(p), _as_multivariate_normal(q)
  if p_gaussian is None or q_gaussian is None:
    return None
  return tfd.kl_divergence(p_gaussian, q_gaussian)


def spread_kl(p, q, kernel, num_samples=1000, num_inner_samples=1000, seed=None,
              monte_carlo=None, return_stderr=False):
  """KL(p~ || q~) between p and q spread by the same kernel.

  Closed form when the two spread distributions have a known KL: both Gaussian (any pair of point
  masses, Normals or MultivariateNormals under a Gaussian kernel) or both Laplace around points.
  Otherwise a Monte Carlo estimate (1/M) sum_m [log p~(y_m) - log q~(y_m)], y_m ~ p~, where
  log p~ and log q~ are exact when `spread` has a closed form (e.g. empirical data) and
  log-mean-exp estimates over `num_inner_samples` otherwise.

  Args:
    p: `tfd.Distribution`, batch shape B, event shape E.
    q: `tfd.Distribution` with the same event shape E.
    kernel: the `SpreadKernel` applied to both.
    num_samples: M, outer Monte Carlo samples.
    num_inner_samples: base samples for Monte Carlo `log_prob` of spread distributions that have
      no closed form.
    seed: None, int or stateless `[2]` seed.
    monte_carlo: None (closed form when available), True (always Monte Carlo), False (closed form
      or raise `NotImplementedError`).
    return_stderr: if True return a `DivergenceEstimate(value, stderr)`.

  Returns:
    A float tensor of shape B (or a `DivergenceEstimate`).

  Raises:
    TypeError: if `kernel` is not a `SpreadKernel`.
    ValueError: if the event shapes of `p` and `q` differ.
    NotImplementedError: if `monte_carlo=False` and no closed form exists.

  #### Examples

  ```python
  kernel = spreadtf.GaussianSpread(0.8)
  spreadtf.spread_kl(tfd.Deterministic(0.3), tfd.Deterministic(1.7), kernel)  # 1.4**2/(2*0.64)
  ```
  """
  outer_seed, inner_seed = tfp.random.split_seed(seed, n=2, salt='spread_kl')
  p_spread, q_spread = _spread_pair(p, q, kernel, num_inner_samples, inner_seed)
  if not monte_carlo:
    value = _closed_form_kl(p_spread, q_spread)
    if value is not None:
      return DivergenceEstimate(value, tf.zeros_like(value)) if return_stderr else value
    if monte_carlo is False:
      raise NotImplementedError(
          f'No closed-form KL between spread {type(p_spread).__name__} and spread '
          f'{type(q_spread).__name__}; pass monte_carlo=None or True.')
  y = p_spread.sample(num_samples, seed=outer_seed)
  estimate = _mean_and_stderr(p_spread.log_prob(y) - q_spread.log_prob(y), num_samples)
  return estimate if return_stderr else estimate.value


def spread_f_divergence(p, q, kernel, f=kl_forward, num_samples=1000, num_inner_samples=1000,
                        seed=None, return_stderr=False):
  """Monte Carlo spread f-divergence D_f(p~ || q~) = E_{y ~ q~}[f(p~(y) / q~(y))].

  Estimated as E_{y ~ m}[2 f(u) / (1 + u)] with m = (p~ + q~) / 2, u = p~(y) / q~(y), stratified:
  `num_samples // 2` samples from each of p~ and q~ (see the module docstring for why). The
  f-function is evaluated in float64 with log u clipped to [-700, 700] so f(u) / (1 + u) stays
  finite; only divergences between distributions whose log-density ratio exceeds 700 nats
  somewhere are affected.

  Args:
    p: `tfd.Distribution`, batch shape B, event shape E.
    q: `tfd.Distribution` with the same event shape E.
    kernel: the `SpreadKernel` applied to both.
    f: a callable of log u returning f(u) (convex, f(1) = 0): `kl_forward`, `kl_reverse`,
      `jensen_shannon`, `total_variation`, `squared_hellinger`, or any `tfp.vi` Csiszar function.
    num_samples: outer Monte Carlo samples (half from p~, half from q~).
    num_inner_samples: base samples for Monte Carlo `log_prob` (when no closed form exists).
    seed: None, int or stateless `[2]` seed.
    return_stderr: if True return a `DivergenceEstimate(value, stderr)`.

  Returns:
    A float tensor of shape B (or a `DivergenceEstimate`).

  Raises:
    TypeError: if `kernel` is not a `SpreadKernel`.
    ValueError: if `num_samples < 2` or the event shapes of `p` and `q` differ.
  """
  if num_samples < 2:
    raise ValueError(f'`num_samples` must be at least 2, got {num_samples}.')
  p_seed, q_seed, inner_seed = tfp.random.split_seed(seed, n=3, salt='spread_f_divergence')
  p_spread, q_spread = _spread_pair(p, q, kernel, num_inner_samples, inner_seed)
  half = num_samples // 2

  def weighted_f(y):
    logu = tf.cast(p_spread.log_prob(y) - q_spread.log_prob(y), tf.float64)
    logu = tf.clip_by_value(logu, -700., 700.)
    return tf.cast(2. * f(logu) / (1. + tf.exp(logu)), p_spread.dtype)

  from_p = _mean_and_stderr(weighted_f(p_spread.sample(half, seed=p_seed)), half)
  from_q = _mean_and_stderr(weighted_f(q_spread.sample(half, seed=q_seed)), half)
  estimate = DivergenceEstimate(0.5 * (from_p.value + from_q.value),
                                0.5 * tf.sqrt(from_p.stderr**2 + from_q.stderr**2))
  return estimate if return_stderr else estimate.value
