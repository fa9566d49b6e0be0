"""Factorised stationary spread kernels: Gaussian and Laplace noise, coordinate by coordinate.

`FactorizedKernel` is a `StationaryKernel` whose noise is independent across coordinates with one
scale per coordinate (or one for all), built from a one-dimensional TFP family: `kernel.at(loc)`
is `tfd.Independent(family(loc, scale), event_ndims)`. `GaussianSpread` and `LaplaceSpread` are
its two families; a new one implements three hooks (`_base_noise`, `_make`,
`_characteristic_function`) and `variance`.

#### References

[1] Mingtian Zhang, Peter Hayes, Tom Bird, Raza Habib, David Barber. Spread Divergence.
    In International Conference on Machine Learning (ICML), 2020. https://arxiv.org/abs/1811.08968
"""

import abc

import tensorflow as tf
import tensorflow_probability as tfp

from spreadtf.spreads import arguments
from spreadtf.spreads import stationary

tfd = tfp.distributions

__all__ = ['FactorizedKernel', 'GaussianSpread', 'LaplaceSpread']


class FactorizedKernel(stationary.StationaryKernel):
  """Base class of stationary kernels K(y - x) = prod_d k(y_d - x_d; scale_d).

  Subclasses define the one-dimensional noise family through `_base_noise` (the unit-scale noise
  distribution), `_make(loc, scale)` (the per-coordinate TFP distribution),
  `_characteristic_function(omega, scale)` and `variance`.

  Shapes follow TFP's broadcasting rule (see `stationary.broadcast_shape`): `scale`, scalar or per
  dimension, lines up with the trailing axes of a location `[batch..., event...]`, exactly as the
  `scale` of `tfd.Normal(loc, scale)` does. Its last `event_ndims` axes must broadcast to the event
  shape (scalar: any event; `[D]`: vectors of size D or images with D channels; `[H, W, C]`: images
  of exactly that shape); any axes before those are batch axes, one scale per batch member, and
  broadcast with the location's batch axes. So `kernel.at(loc, event_ndims)` has
  `batch_shape = broadcast(loc.shape[:-event_ndims], scale.shape[:-event_ndims])` and
  `event_shape = loc.shape[-event_ndims:]`: with `scale` of shape `[3, 1]`, a location `[1, 5]`
  has batch shape `[3, 5]` for `event_ndims=0` and batch `[3]`, event `[5]` for `event_ndims=1`.
  `sample_spread(x)` returns the shape of `x` broadcast against `scale` (the shape of `x` unless
  the scale has a larger batch).

  #### References

  [1] Mingtian Zhang, Peter Hayes, Tom Bird, Raza Habib, David Barber. Spread Divergence.
      ICML 2020. https://arxiv.org/abs/1811.08968
  """

  def at(self, loc, event_ndims=1):
    """The noise distribution K(y - loc) around `loc`.

    Args:
      loc: float tensor `[batch..., event...]`.
      event_ndims: how many trailing axes of `loc` form one event (0 scalars, 1 vectors,
        3 images `[height, width, channels]`).

    Returns:
      A `tfd.Distribution` with `event_shape = loc.shape[-event_ndims:]`, factorised over the event
      coordinates, and `batch_shape = loc.shape[:-event_ndims]` broadcast with the batch axes of
      `scale` (TFP's rule: see the class docstring).

    Raises:
      ValueError: if `loc` has fewer than `event_ndims` axes, the scale does not broadcast to its
        event shape, or the batch shapes do not broadcast.
    """
    loc = self._checked_loc(loc, event_ndims)
    base = self._make(loc, self._checked_scale())
    if event_ndims == 0:
      return base
    return tfd.Independent(base, reinterpreted_batch_ndims=event_ndims,
                           validate_args=self._validate_args)

  def noise(self, shape, seed=None):
    """Samples kernel noise eps ~ K of the given shape (`scale` broadcast against it).

    Args:
      shape: output shape (its trailing axes must be compatible with `scale`).
      seed: None, a Python int or a stateless seed (int32 tensor of shape `[2]`). Only stateless
        seeds are reproducible under `tf.function(jit_compile=True)`.

    Returns:
      A float tensor of `shape`.
    """
    eps = self._base_noise().sample(shape, seed=seed)
    return eps * self._checked_scale()

  def _checked_data(self, x):
    x = self._checked_loc(x, 0, name='x')
    shape = stationary.broadcast_shape(x.shape, self._scale.shape, 0)
    if not shape.is_fully_defined():
      shape = tf.broadcast_dynamic_shape(tf.shape(x), tf.shape(self._scale))
    return x, shape

  def characteristic_function(self, omega, event_ndims=0):
    """E[exp(i omega . eps)] for eps ~ K (real, because K is symmetric).

    Args:
      omega: float tensor of frequencies `[..., event...]`.
      event_ndims: number of trailing axes of `omega` forming one frequency vector; the result is
        the product over them (the kernel factorises over coordinates).

    Returns:
      A float tensor `omega.shape[:-event_ndims]`; strictly positive for a valid spread.
    """
    omega = arguments.convert_floating(omega, 'omega', dtype=self.dtype)
    phi = self._characteristic_function(omega, self._checked_scale())
    return tf.reduce_prod(phi, axis=list(range(-event_ndims, 0))) if event_ndims else phi

  @abc.abstractmethod
  def _base_noise(self):
    """The unit-scale noise distribution (scalar batch and event), a `tfd.Distribution`."""

  @abc.abstractmethod
  def _make(self, loc, scale):
    """The per-coordinate distribution with location `loc` and scale `scale` (broadcast)."""

  @abc.abstractmethod
  def _characteristic_function(self, omega, scale):
    """The per-coordinate characteristic function at `omega`, elementwise."""


class GaussianSpread(FactorizedKernel):
  """Gaussian spread K(y - x) = N(y | x, scale^2 I).

  `kernel.at(loc, event_ndims)` is `Independent(Normal(loc, scale), event_ndims)`, with its shapes:
  `event_shape = loc.shape[-event_ndims:]` and `batch_shape = loc.shape[:-event_ndims]`,
  broadcast with the scale's batch axes if it has any (see `FactorizedKernel`).

  #### Mathematical details

  Per coordinate, K(e) = (2 pi s^2)^(-1/2) exp(-e^2 / (2 s^2)) with characteristic function
  phi(w) = exp(-s^2 w^2 / 2) > 0 for every w, so the spread divergence is a valid divergence.
  Spreading adds variances: a Gaussian N(m, S) spreads to N(m, S + s^2 I).

  #### Examples

  ```python
  kernel = spreadtf.GaussianSpread(0.5)
  y = kernel.sample_spread(images, seed=[1, 2])            # y = x + 0.5 eps
  ll = kernel.at(decoded, event_ndims=3).log_prob(y)      # [batch]
  ```

  #### References

  [1] Mingtian Zhang, Peter Hayes, Tom Bird, Raza Habib, David Barber. Spread Divergence.
      ICML 2020. https://arxiv.org/abs/1811.08968
  """

  def __init__(self, scale, validate_args=False, name='GaussianSpread'):
    super().__init__(scale, validate_args=validate_args, name=name)

  def variance(self):
    return tf.square(self._checked_scale())

  def _base_noise(self):
    return tfd.Normal(tf.zeros([], self.dtype), tf.ones([], self.dtype))

  def _make(self, loc, scale):
    return tfd.Normal(loc=loc, scale=scale, validate_args=self._validate_args)

  def _characteristic_function(self, omega, scale):
    return tf.exp(-0.5 * tf.square(scale * omega))


class LaplaceSpread(FactorizedKernel):
  """Laplace spread K(y - x) = prod_d (1 / (2 b)) exp(-|y_d - x_d| / b).

  `kernel.at(loc, event_ndims)` is `Independent(Laplace(loc, b), event_ndims)`, with its shapes:
  `event_shape = loc.shape[-event_ndims:]` and `batch_shape = loc.shape[:-event_ndims]`,
  broadcast with the scale's batch axes if it has any (see `FactorizedKernel`).

  #### Mathematical details

  Per coordinate the characteristic function is phi(w) = 1 / (1 + b^2 w^2) > 0, so the Laplace
  spread is valid. The noise variance is 2 b^2. Two point masses spread by the same Laplace kernel
  have KL = |d| / b + exp(-|d| / b) - 1 per coordinate, with d the distance between the points.
  The Laplace kernel is leptokurtic: it concentrates the spread close to the data manifold, which
  the paper credits for sharper samples.

  #### References

  [1] Mingtian Zhang, Peter Hayes, Tom Bird, Raza Habib, David Barber. Spread Divergence.
      ICML 2020. https://arxiv.org/abs/1811.08968
  """

  def __init__(self, scale, validate_args=False, name='LaplaceSpread'):
    super().__init__(scale, validate_args=validate_args, name=name)

  def variance(self):
    return 2. * tf.square(self._checked_scale())

  def _base_noise(self):
    return tfd.Laplace(tf.zeros([], self.dtype), tf.ones([], self.dtype))

  def _make(self, loc, scale):
    return tfd.Laplace(loc=loc, scale=scale, validate_args=self._validate_args)

  def _characteristic_function(self, omega, scale):
    return 1. / (1. + tf.square(scale * omega))
