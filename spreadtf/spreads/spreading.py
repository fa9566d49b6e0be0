"""Spread distributions p~(y) = integral K(y - x) p(x) dx as TFP distributions.

`spread(distribution, kernel)` returns an exact closed form where one exists (point masses,
empirical data sets, Gaussians under a Gaussian kernel) and otherwise a `SpreadDistribution`, whose
`sample` is exact and whose `log_prob` is a Monte Carlo estimate over base samples. `Pushforward`
describes an implicit model x = g(z), z ~ p(z), which has samples but no density: exactly the
models whose likelihood the spread makes well defined.

#### References

[1] Mingtian Zhang, Peter Hayes, Tom Bird, Raza Habib, David Barber. Spread Divergence.
    In International Conference on Machine Learning (ICML), 2020. https://arxiv.org/abs/1811.08968
"""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from spreadtf.spreads import kernels

tfd = tfp.distributions

__all__ = ['spread', 'SpreadDistribution', 'Pushforward']


def _static_rank(shape, what):
  if shape.rank is None:
    raise ValueError(f'{what} must have a statically known rank.')
  return shape.rank


def _kernel_batch_shape(distribution, kernel):
  """The batch shape of the kernel's own parameters at the events of `distribution`.

  `[]` unless the kernel scale has more axes than the event (one scale per batch member). A kernel
  without `batch_shape_at` (any object with `at` and `sample_spread`) has none.

  Raises:
    ValueError: if the kernel scale does not broadcast to the event shape of `distribution`.
  """
  event_shape = distribution.event_shape
  event_ndims = _static_rank(event_shape, 'the event shape of `distribution`')
  batch_shape_at = getattr(kernel, 'batch_shape_at', None)
  if batch_shape_at is None:
    return tf.TensorShape([])
  return batch_shape_at(event_shape, event_ndims)


def _spread_batch_shape(distribution, kernel):
  """TFP's rule: the broadcast of the batch shapes of `distribution` and of the kernel.

  Raises:
    ValueError: if the kernel scale does not fit the event shape, or the batch shapes do not
      broadcast.
  """
  kernel_batch = _kernel_batch_shape(distribution, kernel)
  try:
    return tf.broadcast_static_shape(distribution.batch_shape, kernel_batch)
  except ValueError as e:
    raise ValueError(
        f'the kernel `scale` gives batch shape {kernel_batch} (its axes before the event '
        f'{distribution.event_shape}), which does not broadcast with the batch shape '
        f'{distribution.batch_shape} of `distribution`.') from e


class SpreadDistribution(tfd.Distribution):
  """The spread p~(y) = E_{x ~ p}[K(y - x)] of any distribution p that can be sampled.

  `event_shape` is that of the base distribution; `batch_shape` is the broadcast of the base's batch
  shape and the kernel's (TFP's rule; the kernel has a batch shape when its scale has more axes
  than the event, e.g. a scale `[[0.5], [1.]]` (shape `[2, 1]`) on vector events has batch `[2]`).
  `log_prob(y)` takes `y` of shape `[sample..., batch..., event...]` (or anything that broadcasts
  to it, e.g. a scalar) and returns `[sample..., batch...]`.

  #### Mathematical details

  Sampling is exact: x ~ p, then y = x + eps with eps ~ K (for learned kernels, y ~ K(. | x)).
  The density is estimated by Monte Carlo over `num_samples` base samples x_1..x_S:

      log p~(y) ~= log (1/S) sum_s K(y - x_s)   (a log-mean-exp)

  This estimate is consistent (it converges to log p~(y) as S grows) but biased downwards for finite
  S, by Jensen's inequality: E[log mean_s K(y - x_s)] <= log E[K(y - x)] = log p~(y). The bias is
  O(Var[K(y - x)] / (S p~(y)^2)); it is largest where y is far from most base samples, e.g. for a
  small kernel scale in high dimension. Prefer a closed form (see `spread`) when one exists.
  If the base distribution is reparameterized, gradients of `log_prob` flow to its parameters.

  A `tfd.Empirical` base with points x_1..x_N has no such bias: `log_prob` then averages
  K(y - x_n) over all N points, which is exact, and `num_samples` is unused (`spread` returns this
  for an empirical distribution when the kernel scale has batch axes).

  The same base samples are used for every `y` in one `log_prob` call. With a stateless `seed` (an
  int tensor of shape `[2]`), every call uses the same base samples (common random numbers:
  differences of log-probs have low variance). A Python int seed is stateful in TFP: each call then
  draws new base samples (reproducible as a sequence only), just as with `seed=None`.

  #### Examples

  ```python
  # An implicit generator x = g(z), z ~ N(0, I_2), in 5 dimensions: no density of its own.
  model = spreadtf.Pushforward(tfd.MultivariateNormalDiag(tf.zeros(2)), generator, [5])
  spread_model = spreadtf.spread(model, spreadtf.GaussianSpread(0.3), num_samples=4096)
  spread_model.log_prob(y)     # [num_points], a Monte Carlo estimate
  ```

  #### References

  [1] Mingtian Zhang, Peter Hayes, Tom Bird, Raza Habib, David Barber. Spread Divergence.
      ICML 2020. https://arxiv.org/abs/1811.08968
  """

  def __init__(self, distribution, kernel, num_samples=1000, seed=None, validate_args=False,
               allow_nan_stats=True, name='SpreadDistribution'):
    """Builds the spread of `distribution` by `kernel`.

    Args:
      distribution: a `tfd.Distribution` (or `Pushforward`) with static event rank.
      kernel: a spread kernel with `at(loc, event_ndims)` and `sample_spread(x, seed)`.
      num_samples: Python int S, base samples per `log_prob` evaluation (unused for a
        `tfd.Empirical` base, whose N points are all used).
      seed: optional seed for the base samples used by `log_prob`. A stateless `[2]` int seed
        reuses the same base samples on every call; None or a Python int (stateful in TFP) draws
        new ones on every call.
      validate_args: Python bool, TFP convention.
      allow_nan_stats: Python bool, TFP convention.
      name: name of the distribution.

    Raises:
      ValueError: if `num_samples < 1`, the event rank is unknown, the kernel scale does not fit the
        event shape, or the batch shapes of `distribution` and the kernel do not broadcast.
    """
    parameters = dict(locals())
    if not isinstance(num_samples, (int, np.integer)) or num_samples < 1:
      raise ValueError(f'`num_samples` must be a positive Python int, got {num_samples!r}.')
    _spread_batch_shape(distribution, kernel)
    kernel_batch = _kernel_batch_shape(distribution, kernel)
    with tf.name_scope(name) as name:
      self._distribution = distribution
      # Base samples with the full batch shape, drawn independently per batch member, so the
      # kernel's batch axes line up with the batch and never with the sample axis.
      self._base = (tfd.BatchBroadcast(distribution, with_shape=kernel_batch)
                    if kernel_batch.rank else distribution)
      self._kernel = kernel
      self._num_samples = int(num_samples)
      self._seed = seed
      super().__init__(
          dtype=distribution.dtype,
          reparameterization_type=distribution.reparameterization_type,
          validate_args=validate_args,
          allow_nan_stats=allow_nan_stats,
          parameters=parameters,
          name=name)

  @classmethod
  def _parameter_properties(cls, dtype, num_classes=None):
    return dict(distribution=tfp.util.BatchedComponentProperties())

  @property
  def distribution(self):
    """The base distribution p(x)."""
    return self._distribution

  @property
  def kernel(self):
    """The spread kernel K."""
    return self._kernel

  @property
  def num_samples(self):
    """Base samples per `log_prob` evaluation."""
    return self._num_samples

  def _event_shape(self):
    return self._distribution.event_shape

  def _event_shape_tensor(self):
    return self._distribution.event_shape_tensor()

  def _batch_shape(self):
    return self._base.batch_shape

  def _batch_shape_tensor(self):
    return self._base.batch_shape_tensor()

  def _sample_n(self, n, seed=None):
    base_seed, noise_seed = tfp.random.split_seed(seed, n=2, salt='SpreadDistribution')
    x = self._base.sample(n, seed=base_seed)
    return self._kernel.sample_spread(x, seed=noise_seed)

  def _base_points(self, batch_ndims, event_ndims):
    """Points x_1..x_S `[S, batch..., event...]` (up to unit axes) and log S for `_log_prob`."""
    if not isinstance(self._distribution, tfd.Empirical):
      return self._base.sample(self._num_samples, seed=self._seed), np.log(self._num_samples)
    points = tf.convert_to_tensor(self._distribution.samples)    # [base batch..., N, event...]
    rank = _static_rank(points.shape, 'the samples of `distribution`')
    points_axis = rank - event_ndims - 1
    points = tf.transpose(points, [points_axis] + [
        axis for axis in range(rank) if axis != points_axis])    # [N, base batch..., event...]
    for _ in range(batch_ndims - points_axis):
      points = points[:, tf.newaxis]                             # [N, 1..., base batch..., ...]
    return points, tf.math.log(tf.cast(tf.shape(points)[0], self.dtype))

  def _log_prob(self, y):
    event_ndims = self.event_shape.rank
    batch_ndims = _static_rank(self.batch_shape, 'the batch shape of `distribution`')
    y = tf.convert_to_tensor(y, dtype=self.dtype)
    # Leading unit axes up to rank(batch + event): y then broadcasts against the batch as in TFP.
    for _ in range(batch_ndims + event_ndims - _static_rank(y.shape, '`y`')):
      y = y[tf.newaxis]
    y_rank = y.shape.rank
    x, log_num_points = self._base_points(batch_ndims, event_ndims)   # [S, batch..., event...]
    # [sample..., 1, batch..., event...] broadcasts against x to [sample..., S, batch..., event...].
    y = tf.expand_dims(y, axis=y_rank - batch_ndims - event_ndims)
    log_k = self._kernel.at(x, event_ndims=event_ndims).log_prob(y)
    return (tf.reduce_logsumexp(log_k, axis=-(batch_ndims + 1))
            - tf.cast(log_num_points, self.dtype))


class Pushforward(tfd.Distribution):
  """An implicit distribution x = fn(z), z ~ latent: samples, but no density.

  A deterministic generator with dim z < dim x puts all its mass on a manifold, so
  log p(x) = -inf almost everywhere: `log_prob` raises. Spread it (`spread(model, kernel)`) to get a
  distribution with a density. `batch_shape` is `[]`, `event_shape` is the given `event_shape`.

  #### References

  [1] Mingtian Zhang, Peter Hayes, Tom Bird, Raza Habib, David Barber. Spread Divergence.
      ICML 2020. https://arxiv.org/abs/1811.08968
  """

  def __init__(self, latent, fn, event_shape, dtype=tf.float32, validate_args=False,
               name='Pushforward'):
    """Builds the pushforward.

    Args:
      latent: a `tfd.Distribution` over z with scalar batch shape (e.g. `MultivariateNormalDiag`).
      fn: a callable mapping `[n, latent_event...]` to `[n, event...]` (e.g. a Keras decoder).
      event_shape: the event shape of x, e.g. `[28, 28, 1]`.
      dtype: dtype of x.
      validate_args: Python bool, TFP convention.
      name: name of the distribution.
    """
    parameters = dict(locals())
    with tf.name_scope(name) as name:
      self._latent = latent
      self._fn = fn
      self._static_event_shape = tf.TensorShape(event_shape)
      super().__init__(dtype=dtype, reparameterization_type=latent.reparameterization_type,
                       validate_args=validate_args, allow_nan_stats=True,
                       parameters=parameters, name=name)

  @classmethod
  def _parameter_properties(cls, dtype, num_classes=None):
    return dict()

  @property
  def latent(self):
    return self._latent

  @property
  def fn(self):
    return self._fn

  def _event_shape(self):
    return self._static_event_shape

  def _event_shape_tensor(self):
    return tf.constant(self._static_event_shape.as_list(), dtype=tf.int32)

  def _batch_shape(self):
    return tf.TensorShape([])

  def _batch_shape_tensor(self):
    return tf.constant([], dtype=tf.int32)

  def _sample_n(self, n, seed=None):
    x = self._fn(self._latent.sample(n, seed=seed))
    return tf.cast(x, self.dtype)

  def _log_prob(self, x):
    raise NotImplementedError(
        'A Pushforward (implicit generator) has no density: its log-likelihood is -inf almost '
        'everywhere. Use spreadtf.spread(model, kernel) to get a spread distribution with a '
        'density.')


def _point_mass(distribution):
  """Returns (loc, event_ndims) if `distribution` is a point mass, else None."""
  if isinstance(distribution, tfd.VectorDeterministic):
    return distribution.loc, 1
  if isinstance(distribution, tfd.Deterministic):
    return distribution.loc, 0
  if isinstance(distribution, tfd.Independent):
    inner = _point_mass(distribution.distribution)
    if inner is not None:
      loc, event_ndims = inner
      reinterpreted = tf.get_static_value(distribution.reinterpreted_batch_ndims)
      if reinterpreted is None:
        raise ValueError('`reinterpreted_batch_ndims` of an Independent point mass must be static.')
      return loc, event_ndims + int(reinterpreted)
  return None


def _checked_finite(points, what, validate_args):
  """`points`, asserted finite (naming `distribution`) when `validate_args` is set."""
  if not validate_args:
    return points
  with tf.control_dependencies([tf.debugging.assert_all_finite(
      points, message=f'`distribution` has non-finite {what} (NaN/inf).')]):
    return tf.identity(points)


def _gaussian_closed_form(distribution, kernel):
  """N(m, S) spread by a Gaussian kernel N(0, s^2 I) is N(m, S + s^2 I); None if not applicable.

  The kernel variance lines up with the trailing axes of `batch_shape + event_shape` (checked by
  `_spread_batch_shape`), so per-dimension scales add elementwise and the TFP distributions
  built here broadcast their parameters' batch shapes themselves.
  """
  if not isinstance(kernel, kernels.GaussianSpread):
    return None
  noise_var = kernel.variance()
  if isinstance(distribution, tfd.Normal):
    return tfd.Normal(distribution.loc,
                      tf.sqrt(tf.square(distribution.scale) + noise_var),
                      validate_args=kernel.validate_args)
  if isinstance(distribution, tfd.Independent):
    inner = _gaussian_closed_form(distribution.distribution, kernel)
    if inner is None:
      return None
    return tfd.Independent(inner, distribution.reinterpreted_batch_ndims,
                           validate_args=kernel.validate_args)
  if isinstance(distribution, tfd.MultivariateNormalLinearOperator):
    loc = distribution.mean()
    noise_var = tf.broadcast_to(  # The kernel may add batch axes (TFP's rule).
        noise_var, tf.broadcast_dynamic_shape(tf.shape(loc), tf.shape(noise_var)))
    if isinstance(distribution, tfd.MultivariateNormalDiag):
      return tfd.MultivariateNormalDiag(
          loc, tf.sqrt(tf.square(distribution.stddev()) + noise_var),
          validate_args=kernel.validate_args)
    covariance = distribution.covariance() + tf.linalg.diag(noise_var)
    return tfd.MultivariateNormalTriL(loc, tf.linalg.cholesky(covariance),
                                      validate_args=kernel.validate_args)
  return None


def spread(distribution, kernel, num_samples=1000, seed=None, validate_args=False):
  """The spread distribution p~(y) = integral K(y - x) p(x) dx.

  Exact closed forms:
    * `tfd.Deterministic`, `tfd.VectorDeterministic` (or `Independent` of them): the kernel at
      the point, `kernel.at(loc, event_ndims)`.
    * `tfd.Empirical` with points x_1..x_N: the mixture (1/N) sum_n K(y - x_n), the spread
      empirical data distribution, as a `tfd.MixtureSameFamily` (as a `SpreadDistribution` that
      sums over all N points, also exact, when the kernel scale has batch axes).
    * `tfd.Normal`, `tfd.MultivariateNormal*` (or `Independent` of them) under a `GaussianSpread`:
      variances add, N(m, S) -> N(m, S + s^2 I).
  Anything else (another kernel, a `Pushforward` generator, any sampler) gives a
  `SpreadDistribution` with exact `sample` and a Monte Carlo `log_prob` (see its docstring for the
  bias).

  Shapes follow TFP's broadcasting rule. The result has the `event_shape` of `distribution`, and
  the kernel `scale` lines up with the trailing axes of `batch_shape + event_shape`, like the
  `scale` of `tfd.Normal(loc, scale)`: its last `len(event_shape)` axes must broadcast to the event
  shape, and any axes before those are the kernel's batch axes. The result's `batch_shape` is the
  broadcast of the two batch shapes: `Normal([0., 1.], 1.)` spread by `GaussianSpread([0.5, 1.])`
  is `Normal([0., 1.], sqrt([1.25, 2.]))`, and `Normal(zeros([1, 5]), 1.)` spread by a scale of
  shape `[3, 1]` has batch shape `[3, 5]`.

  Args:
    distribution: the base `tfd.Distribution` p(x).
    kernel: a spread kernel (`GaussianSpread`, `LaplaceSpread`, or a learned kernel).
    num_samples: base samples per `log_prob` call, only used by the Monte Carlo fallback.
    seed: seed for the Monte Carlo fallback's base samples (see `SpreadDistribution`).
    validate_args: Python bool: check at run time that point-mass locations and empirical samples
      are finite; also passed to the fallback `SpreadDistribution`.

  Returns:
    A `tfd.Distribution` over y.

  Raises:
    TypeError: if `distribution` is not a `tfd.Distribution`.
    ValueError: if the kernel scale does not broadcast to the event shape of `distribution`, or
      the batch shapes of `distribution` and the kernel do not broadcast.
    tf.errors.InvalidArgumentError: with `validate_args=True`, on non-finite point-mass locations
      or empirical samples.

  #### Examples

  ```python
  data = tfd.Empirical(x_train, event_ndims=1)            # no density
  spread_data = spreadtf.spread(data, spreadtf.GaussianSpread(0.5))
  spread_data.log_prob(y)                                 # exact Gaussian-mixture density
  ```

  #### References

  [1] Mingtian Zhang, Peter Hayes, Tom Bird, Raza Habib, David Barber. Spread Divergence.
      ICML 2020. https://arxiv.org/abs/1811.08968
  """
  if not isinstance(distribution, tfd.Distribution):
    raise TypeError(
        f'`distribution` must be a tfd.Distribution, got {type(distribution).__name__}.')
  _spread_batch_shape(distribution, kernel)
  point = _point_mass(distribution)
  if point is not None:
    loc, event_ndims = point
    return kernel.at(_checked_finite(loc, 'locations', validate_args), event_ndims=event_ndims)
  if isinstance(distribution, tfd.Empirical):
    event_ndims = _static_rank(distribution.event_shape, 'the event shape of `distribution`')
    points = tf.convert_to_tensor(
        _checked_finite(distribution.samples, 'samples', validate_args))
    if _kernel_batch_shape(distribution, kernel).rank:
      # The scale's batch axes would line up with the points axis N of a mixture's components.
      return SpreadDistribution(tfd.Empirical(points, event_ndims=event_ndims), kernel,
                                validate_args=validate_args)
    components = kernel.at(points, event_ndims=event_ndims)          # batch [batch..., N]
    logits = tf.zeros(tf.shape(points)[:tf.rank(points) - event_ndims], dtype=points.dtype)
    return tfd.MixtureSameFamily(tfd.Categorical(logits=logits), components,
                                 validate_args=kernel.validate_args)
  closed = _gaussian_closed_form(distribution, kernel)
  if closed is not None:
    return closed
  return SpreadDistribution(distribution, kernel, num_samples=num_samples, seed=seed,
                            validate_args=validate_args)
