"""One EM step for linear ICA x = A z: spread EM (the paper's method) or standard EM.

Spread EM (Zhang et al. 2020, section 5.2.1) replaces each data point x_n by spread samples
y = x_n + sigma eps and fits the spread model y = A z + noise with noise variance gamma^2 + sigma^2.
Its posterior is

    p(z | y) ~ N(z | mu(y), Sigma) prod_i p(z_i),
    Sigma = (gamma^2 + sigma^2) (A^T A)^-1,    mu(y) = (A^T A)^-1 A^T y,

and the E-step estimates E[y z^T] and E[z z^T] by self-normalised importance sampling with S_z
proposals from N(mu(y), Sigma) weighted by prod_i p(z_i). The M-step is A = E[y z^T] E[z z^T]^-1.
Standard EM is the same estimator with sigma = 0 and y = x; as gamma -> 0 its posterior collapses
to z = A^+ x and the update returns A unchanged (EM "freezes").

#### Cost and the two sampling schemes

The E-step needs log-weights for every (point, sample) pair: N S_y S_z Z prior evaluations.
- `common_random_numbers=True` (default): one set of S_z standard-normal draws eps_s per
  iteration, shared by all points (fresh every iteration): z_ns = mu_n + L eps_s with
  L L^T = Sigma. Only S_z x Z normals are drawn, and the moments reduce to matmuls:
      E_z[n] = mu_n + (W e)_n,
      sum_n E[z z^T | y_n] = mu^T E_z + (W e)^T mu + e^T diag(sum_n W_n.) e,
  with W the [points, S_z] weights and e = eps L^T. The log-weights are accumulated one source
  at a time on [chunk, S_z] tiles inside an XLA-compiled function (XLA fuses the broadcast, the
  prior's log density and the sum into one pass; random numbers stay outside XLA).
- `common_random_numbers=False`: independent draws for every (point, sample), on
  [chunk, S_z, Z] tensors; chunk k draws its [chunk, S_z, Z] normals from
  stateless_fold_in(seed, k). Slower (random numbers dominate), statistically the textbook form.
  The draws therefore depend on `chunk_size` (a point's draws depend on which chunk it falls in
  and where), so different chunk sizes give different, equally valid Monte-Carlo estimates;
  keying draws per point instead would need one RNG call per point.
Both are bounded in memory by `chunk_size * S_z` (times Z for independent draws).

#### References

[1] Mingtian Zhang, Peter Hayes, Tom Bird, Raza Habib, David Barber. Spread Divergence.
    ICML 2020. https://arxiv.org/abs/1811.08968
"""

import tensorflow as tf

from spreadtf import seeding
from spreadtf.ica import mixing_model
from spreadtf.spreads import kernels

__all__ = ['ExpectationMaximization', 'fit']


class ExpectationMaximization:
  """The EM update for linear ICA; `spread=True` is spread EM, `spread=False` standard EM.

  `step(x, mixing, gamma, seed)` maps data `[num_points, x_dim]`, the current A
  `[x_dim, z_dim]`, the model's noise standard deviation gamma (scalar) and a stateless seed
  (int32 `[2]`) to `(new_mixing [x_dim, z_dim], sigma [])`; it is a `tf.function` (retraced per
  data shape and dtype). All tensors share one float dtype (float32 or float64).
  """

  def __init__(self, source, spread=True, spread_scale=None, num_posterior_samples=1000,
               num_spread_samples=1, chunk_size=2000, common_random_numbers=True,
               jit_compile=True):
    """Configures the step.

    Args:
      source: scalar `tfd.Distribution` with `log_prob`, the prior of every source.
      spread: True for spread EM, False for standard EM (sigma = 0, y = x).
      spread_scale: fixed Gaussian spread sigma > 0, or None for the paper's heuristic
        sigma = max(1e-3, 2.5 sqrt(mean(A A^T))) on the current A, recomputed every step.
        Ignored for standard EM.
      num_posterior_samples: S_z, importance samples per spread point.
      num_spread_samples: S_y, spread samples per data point (standard EM uses 1).
      chunk_size: points per E-step chunk; peak memory is about chunk_size * S_z floats
        (times z_dim without common random numbers).
      common_random_numbers: share the S_z proposal draws across the points of an iteration
        (see the module docstring).
      jit_compile: XLA-compile the log-weight computation (random numbers stay outside XLA).

    Raises:
      ValueError: for non-positive sizes, a non-positive fixed spread, or a bad source.
    """
    mixing_model.check_source(source)
    for name, value in (('num_posterior_samples', num_posterior_samples),
                        ('num_spread_samples', num_spread_samples), ('chunk_size', chunk_size)):
      if int(value) != value or value < 1:
        raise ValueError(f'`{name}` must be a positive integer, got {value!r}.')
    if spread_scale is not None and not spread_scale > 0:
      raise ValueError(f'a fixed `spread_scale` must be > 0, got {spread_scale!r}.')
    self._source = source
    self._spread = bool(spread)
    self._spread_scale = spread_scale
    self._num_posterior_samples = int(num_posterior_samples)
    self._num_spread_samples = int(num_spread_samples) if spread else 1
    self._chunk_size = int(chunk_size)
    self._common_random_numbers = bool(common_random_numbers)
    self._shared_log_weights = tf.function(self._shared_log_weights_fn, jit_compile=jit_compile)
    self._log_weights = tf.function(self._log_weights_fn, jit_compile=jit_compile)
    self.step = tf.function(self._step)

  @property
  def spread(self):
    """True for spread EM, False for standard EM."""
    return self._spread

  @property
  def source(self):
    """The source prior used for the importance weights."""
    return self._source

  def _spread_level(self, mixing):
    if not self._spread:
      return tf.zeros([], mixing.dtype)
    if self._spread_scale is None:
      return mixing_model.heuristic_spread_scale(mixing)
    return tf.constant(self._spread_scale, mixing.dtype)

  def _step(self, x, mixing, gamma, seed):
    spread_seed, sample_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    sigma = self._spread_level(mixing)
    y = x
    if self._spread:
      if self._num_spread_samples > 1:
        y = tf.tile(x, [self._num_spread_samples, 1])
      y = kernels.GaussianSpread(sigma).sample_spread(y, seed=spread_seed)
    noise_variance = tf.square(tf.cast(gamma, mixing.dtype)) + tf.square(sigma)
    cross, second = self.expectations(y, mixing, noise_variance, sample_seed)
    new_mixing = tf.transpose(tf.linalg.solve(second, tf.transpose(cross)))
    return new_mixing, sigma

  def expectations(self, y, mixing, noise_variance, seed):
    """E-step statistics by self-normalised importance sampling.

    Args:
      y: (spread) data `[num_points, x_dim]` with a static number of points.
      mixing: current A `[x_dim, z_dim]`.
      noise_variance: scalar gamma^2 + sigma^2 (may be 0: the posterior is then a point mass).
      seed: stateless seed, int32 `[2]`.

    Returns:
      `(E[y z^T] [x_dim, z_dim], E[z z^T] [z_dim, z_dim])`, averaged over the points.
    """
    num_points = y.shape[0]
    gram_chol = tf.linalg.cholesky(tf.matmul(mixing, mixing, transpose_a=True))
    z_dim = mixing.shape[-1]
    gram_inv = tf.linalg.cholesky_solve(gram_chol, tf.eye(z_dim, dtype=mixing.dtype))
    mean = tf.matmul(y, tf.matmul(mixing, gram_inv))                    # [N, Z], mu(y)
    scale_tril = tf.sqrt(noise_variance) * tf.linalg.cholesky(gram_inv)  # L L^T = Sigma
    starts = range(0, num_points, self._chunk_size)
    if self._common_random_numbers:
      eps = tf.random.stateless_normal([self._num_posterior_samples, z_dim], seed,
                                       dtype=mixing.dtype)
      offsets = tf.matmul(eps, scale_tril, transpose_b=True)             # [S, Z]
      shifts, column_sums = [], []
      for start in starts:
        weights = tf.nn.softmax(
            self._shared_log_weights(mean[start:start + self._chunk_size], offsets), axis=-1)
        shifts.append(tf.matmul(weights, offsets))                       # [chunk, Z]
        column_sums.append(tf.reduce_sum(weights, axis=0))               # [S]
      shift = tf.concat(shifts, axis=0)
      posterior_mean = mean + shift
      second = (tf.matmul(mean, posterior_mean, transpose_a=True)
                + tf.matmul(shift, mean, transpose_a=True)
                + tf.matmul(offsets * tf.add_n(column_sums)[:, tf.newaxis], offsets,
                            transpose_a=True))
    else:
      means, seconds = [], []
      for index, start in enumerate(starts):
        chunk_mean = mean[start:start + self._chunk_size]
        eps = tf.random.stateless_normal(
            [tf.shape(chunk_mean)[0], self._num_posterior_samples, z_dim],
            tf.random.experimental.stateless_fold_in(seed, index), dtype=mixing.dtype)
        z = chunk_mean[:, tf.newaxis, :] + tf.matmul(eps, scale_tril, transpose_b=True)
        weights = tf.nn.softmax(self._log_weights(z), axis=-1)          # [chunk, S]
        means.append(tf.einsum('cs,csz->cz', weights, z))
        seconds.append(tf.einsum('csi,csj->ij', weights[..., tf.newaxis] * z, z))
      posterior_mean = tf.concat(means, axis=0)
      second = tf.add_n(seconds)
    n = tf.cast(num_points, mixing.dtype)
    return tf.matmul(y, posterior_mean, transpose_a=True) / n, second / n

  def _shared_log_weights_fn(self, mean, offsets):
    """sum_i log p(mean_ci + offsets_si): `[chunk, Z]`, `[S, Z]` -> `[chunk, S]`, one source at a
    time so every intermediate is a [chunk, S] tile."""
    total = None
    for i in range(mean.shape[-1]):
      term = self._source.log_prob(mean[:, i:i + 1] + offsets[tf.newaxis, :, i])
      total = term if total is None else total + term
    return total

  def _log_weights_fn(self, z):
    """sum_i log p(z_csi): `[chunk, S, Z]` -> `[chunk, S]`."""
    return tf.reduce_sum(self._source.log_prob(z), axis=-1)


def fit(em, x, mixing, gamma, num_iterations, seed, callback=None):
  """Runs `num_iterations` EM steps after validating the problem.

  Args:
    em: an `ExpectationMaximization`.
    x: data `[num_points, x_dim]`.
    mixing: initial A `[x_dim, z_dim]`, same dtype as `x`.
    gamma: the model's observation-noise standard deviation, >= 0.
    num_iterations: number of EM steps.
    seed: the run seed, a non-negative Python int; iteration k uses the stateless seed
      stateless_fold_in(stateless_seed(seed, 'em'), k) (`spreadtf.seeding`), so spread
      and standard EM of one run see the same noise.
    callback: optional `callback(iteration, mixing, sigma)` called after every step (iteration
      counts from 1).

  Returns:
    The final mixing matrix `[x_dim, z_dim]` (tensor).

  Raises:
    ValueError: for NaN/inf data, X < Z, a singular initial A or gamma < 0 (see
      `mixing_model.check_inputs`), or a source prior of another dtype than the data, before any
      iteration runs.
  """
  mixing_model.check_inputs(x, mixing, gamma)
  x = tf.convert_to_tensor(x)
  mixing_model.check_source(em.source, x.dtype)
  mixing = tf.convert_to_tensor(mixing, dtype=x.dtype)
  gamma = tf.constant(gamma, x.dtype)
  base = tf.constant(seeding.stateless_seed(seed, 'em'))
  for iteration in range(1, int(num_iterations) + 1):
    step_seed = tf.random.experimental.stateless_fold_in(base, iteration)
    mixing, sigma = em.step(x, mixing, gamma, step_seed)
    if callback is not None:
      callback(iteration, mixing, sigma)
  return mixing
