"""The Monte Carlo spread distribution p~(y) = E_{x ~ p}[K(y | x)] of any sampler p.

`spread` returns a `SpreadDistribution` when no closed form is registered for the distribution and
the kernel (`spread_registry`); its `sample` is exact and its `log_prob` a Monte Carlo estimate
over base samples. The shape helpers here are TFP's broadcasting rule between a distribution and
a kernel with batch axes of its own.

#### References

[1] Mingtian Zhang, Peter Hayes, Tom Bird, Raza Habib, David Barber. Spread Divergence.
    In International Conference on Machine Learning (ICML), 2020. https://arxiv.org/abs/1811.08968
"""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from spreadtf.spreads import kernel_interface

tfd = tfp.distributions

__all__ = ['SpreadDistribution', 'kernel_batch_shape', 'spread_batch_shape', 'static_rank']


def static_rank(shape, what):
  """The static rank of `shape`, or a ValueError naming `what` if it is unknown."""
  if shape.rank is None:
    raise ValueError(f'{what} must have a statically known rank.')
  return shape.rank


def kernel_batch_shape(distribution, kernel):
  """The batch shape of the kernel's own parameters at the events of `distribution`.

  `kernel.batch_shape_at(event_shape, event_ndims)`: `[]` unless the kernel scale has more axes
  than the event (one scale per batch member).

  Args:
    distribution: a `tfd.Distribution` with a static event rank.
    kernel: a `SpreadKernel`.

  Returns:
    A `tf.TensorShape`.

  Raises:
    ValueError: if the event rank is unknown or the kernel scale does not broadcast to the event
      shape of `distribution`.
  """
  event_shape = distribution.event_shape
  event_ndims = static_rank(event_shape, 'the event shape of `distribution`')
  return kernel.batch_shape_at(event_shape, event_ndims)


def spread_batch_shape(distribution, kernel):
  """TFP's rule: the broadcast of the batch shapes of `distribution` and of the kernel.

  Args:
    distribution: a `tfd.Distribution` with a static event rank.
    kernel: a `SpreadKernel`.

  Returns:
    The `tf.TensorShape` of the spread distribution's batch.

  Raises:
    ValueError: if the kernel scale does not fit the event shape, or the batch shapes do not
      broadcast.
  """
  kernel_batch = kernel_batch_shape(distribution, kernel)
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
      kernel: a `SpreadKernel`.
      num_samples: Python int S, base samples per `log_prob` evaluation (unused for a
        `tfd.Empirical` base, whose N points are all used).
      seed: optional seed for the base samples used by `log_prob`. A stateless `[2]` int seed
        reuses the same base samples on every call; None or a Python int (stateful in TFP) draws
        new ones on every call.
      validate_args: Python bool, TFP convention.
      allow_nan_stats: Python bool, TFP convention.
      name: name of the distribution.

    Raises:
      TypeError: if `kernel` is not a `SpreadKernel`.
      ValueError: if `num_samples < 1`, the event rank is unknown, the kernel scale does not fit the
        event shape, or the batch shapes of `distribution` and the kernel do not broadcast.
    """
    parameters = dict(locals())
    kernel_interface.check_spread_kernel(kernel)
    if not isinstance(num_samples, (int, np.integer)) or num_samples < 1:
      raise ValueError(f'`num_samples` must be a positive Python int, got {num_samples!r}.')
    spread_batch_shape(distribution, kernel)
    kernel_batch = kernel_batch_shape(distribution, kernel)
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
    rank = static_rank(points.shape, 'the samples of `distribution`')
    points_axis = rank - event_ndims - 1
    points = tf.transpose(points, [points_axis] + [
        axis for axis in range(rank) if axis != points_axis])    # [N, base batch..., event...]
    for _ in range(batch_ndims - points_axis):
      points = points[:, tf.newaxis]                             # [N, 1..., base batch..., ...]
    return points, tf.math.log(tf.cast(tf.shape(points)[0], self.dtype))

  def _log_prob(self, y):
    event_ndims = self.event_shape.rank
    batch_ndims = static_rank(self.batch_shape, 'the batch shape of `distribution`')
    y = tf.convert_to_tensor(y, dtype=self.dtype)
    # Leading unit axes up to rank(batch + event): y then broadcasts against the batch as in TFP.
    for _ in range(batch_ndims + event_ndims - static_rank(y.shape, '`y`')):
      y = y[tf.newaxis]
    y_rank = y.shape.rank
    x, log_num_points = self._base_points(batch_ndims, event_ndims)   # [S, batch..., event...]
    # [sample..., 1, batch..., event...] broadcasts against x to [sample..., S, batch..., event...].
    y = tf.expand_dims(y, axis=y_rank - batch_ndims - event_ndims)
    log_k = self._kernel.at(x, event_ndims=event_ndims).log_prob(y)
    return (tf.reduce_logsumexp(log_k, axis=-(batch_ndims + 1))
            - tf.cast(log_num_points, self.dtype))
