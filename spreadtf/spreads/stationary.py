"""Stationary spread kernels K(y - x) with a positive scale: the base of the noise kernels.

A stationary kernel adds noise to the point it spreads, y = x + eps with eps ~ K, so its spread of
p is the convolution p~ = K * p, and its Fourier transform multiplies: phi_p~ = phi_K phi_p. If
phi_K is strictly positive, p -> p~ is injective and any divergence between spread distributions
is a divergence between the originals (Zhang et al., 2020, Theorem 1). `StationaryKernel`
holds what every such kernel shares (the scale and its checks, y = x + noise, E[y | x] = x, TFP's
broadcasting rule); its subclasses give the noise: `FactorizedKernel` (`kernels.py`: Gaussian,
Laplace) per coordinate, `LowRankGaussianSpread` (`lowrank.py`) with a learned covariance.

#### References

[1] Mingtian Zhang, Peter Hayes, Tom Bird, Raza Habib, David Barber. Spread Divergence.
    In International Conference on Machine Learning (ICML), 2020. https://arxiv.org/abs/1811.08968
"""

import abc

import numpy as np
import tensorflow as tf

from spreadtf.spreads import arguments
from spreadtf.spreads import kernel_interface

__all__ = ['StationaryKernel', 'broadcast_shape']


def broadcast_shape(loc_shape, scale_shape, event_ndims, name='loc'):
  """The static shape `[batch..., event...]` of a kernel with scale `scale_shape` at `loc_shape`.

  This is the one broadcasting rule of the spread kernels, TFP's rule for
  `tfd.Independent(tfd.Normal(loc, scale), event_ndims)`: the scale lines up with the trailing axes
  of the location, and the batch shape is the broadcast of the two parameters' batch shapes. The
  location's trailing `event_ndims` axes are the event; the scale's last `event_ndims` axes (all of
  them if it has fewer) are its event part, the rest its batch part. One difference from TFP: the
  event part of the scale must broadcast *to* the location's event without changing it, since a
  kernel spreads a point in its own space (y has the event shape of x). The batch may grow:
  a scale `[3, 1]` at a location `[1, 5]` with `event_ndims=0` gives `[3, 5]`, as
  `tfd.Normal(zeros([1, 5]), ones([3, 1]))` does.

  Args:
    loc_shape: static `tf.TensorShape` of the location (rank >= `event_ndims`).
    scale_shape: static `tf.TensorShape` of the kernel scale.
    event_ndims: Python int, the number of trailing axes of the location forming one event.
    name: the location argument's name, used in error messages.

  Returns:
    The `tf.TensorShape` `broadcast(loc batch, scale batch) + loc event` (unknown if a rank is).

  Raises:
    ValueError: if the location has fewer than `event_ndims` axes, the scale's event part does
      not broadcast to the location's event shape, or the two batch shapes do not broadcast.
  """
  loc_shape, scale_shape = tf.TensorShape(loc_shape), tf.TensorShape(scale_shape)
  if loc_shape.rank is None or scale_shape.rank is None:
    return tf.TensorShape(None)
  if loc_shape.rank < event_ndims:
    raise ValueError(f'`{name}` has rank {loc_shape.rank} < event_ndims={event_ndims}.')
  split = loc_shape.rank - event_ndims
  loc_batch, event = loc_shape[:split], loc_shape[split:]
  scale_split = max(scale_shape.rank - event_ndims, 0)
  scale_batch, scale_event = scale_shape[:scale_split], scale_shape[scale_split:]
  try:
    joint_event = tf.broadcast_static_shape(event, scale_event)
  except ValueError:
    joint_event = None
  if joint_event is None or (event.is_fully_defined() and joint_event != event):
    raise ValueError(
        f'`scale` of shape {scale_shape} does not fit the event shape {event} of `{name}` '
        f'(event_ndims={event_ndims}): its event part {scale_event} must broadcast to the event '
        'without changing it.')
  try:
    joint_batch = tf.broadcast_static_shape(loc_batch, scale_batch)
  except ValueError as e:
    raise ValueError(
        f'`scale` of shape {scale_shape} and `{name}` of shape {loc_shape} have batch shapes '
        f'{scale_batch} and {loc_batch} that do not broadcast (event_ndims={event_ndims}).') from e
  return joint_batch.concatenate(joint_event)


class StationaryKernel(kernel_interface.SpreadKernel):
  """Base class of stationary spread kernels K(y - x) with a positive `scale`.

  Implements the parts of `SpreadKernel` that follow from stationarity: `sample_spread` is
  y = x + `noise`, `spread_mean` is x, `is_valid_spread` is True (the subclasses' noise has a
  strictly positive characteristic function; a subclass whose noise does not must override it),
  and `batch_shape_at` is TFP's rule for the scale (`broadcast_shape`).

  Subclasses implement `at(loc, event_ndims)`, `noise(shape, seed)`, `variance()`,
  `characteristic_function(omega, event_ndims)` and `_checked_data(x)` (the checked points of
  `sample_spread` and the shape of their noise).

  Shapes follow TFP's broadcasting rule (see `broadcast_shape`): `scale` lines up with the trailing
  axes of a location `[batch..., event...]`, exactly as the `scale` of `tfd.Normal(loc, scale)`
  does; any scale axes before the event are batch axes, one scale per batch member.

  #### References

  [1] Mingtian Zhang, Peter Hayes, Tom Bird, Raza Habib, David Barber. Spread Divergence.
      ICML 2020. https://arxiv.org/abs/1811.08968
  """

  def __init__(self, scale, validate_args=False, dtype=None, name=None):
    """Builds the kernel.

    Args:
      scale: positive float scale. A value known statically (Python number, NumPy array,
        constant or eager tensor) that is not positive raises at once; a variable or a symbolic
        tensor is checked at run time when `validate_args=True`.
      validate_args: check `scale > 0` and finite locations at run time (TFP convention).
      dtype: optional floating dtype the scale must have (Python numbers are converted to it);
        None keeps the scale's own dtype (float32 for Python numbers).
      name: module name.

    Raises:
      TypeError: if `scale` has an integer dtype, or a dtype other than `dtype`.
      ValueError: if `scale` is known statically and is not strictly positive (or is NaN).
    """
    super().__init__(validate_args=validate_args, name=name)
    self._scale = arguments.convert_floating(scale, 'scale', dtype=dtype)
    # A variable may be reassigned later, so only its run-time check (validate_args) applies.
    static_scale = None if isinstance(scale, tf.Variable) else tf.get_static_value(self._scale)
    if static_scale is not None and not np.all(static_scale > 0):
      raise ValueError(f'`scale` must be strictly positive, got {static_scale.tolist()!r}.')

  @property
  def scale(self):
    """The kernel's scale (Gaussian standard deviation, Laplace b), scalar or per dimension."""
    return self._scale

  @property
  def dtype(self):
    return self._scale.dtype

  @property
  def is_valid_spread(self):
    """True: the characteristic function is strictly positive (see each class docstring)."""
    return True

  def _checked_scale(self):
    scale = tf.convert_to_tensor(self._scale)
    if not self._validate_args:
      return scale
    with tf.control_dependencies([
        tf.debugging.assert_positive(scale, message='`scale` must be strictly positive.')]):
      return tf.identity(scale)

  def _checked_loc(self, loc, event_ndims, name='loc'):
    """`loc` as a tensor of the kernel's dtype whose shape lines up with the scale."""
    loc = arguments.convert_floating(loc, name, dtype=self.dtype)
    if not isinstance(event_ndims, int) or event_ndims < 0:
      raise ValueError(f'`event_ndims` must be a non-negative Python int, got {event_ndims!r}.')
    broadcast_shape(loc.shape, self._scale.shape, event_ndims, name=name)
    if self._validate_args:
      with tf.control_dependencies([
          tf.debugging.assert_all_finite(loc, message=f'`{name}` must be finite (no NaN/inf).')]):
        loc = tf.identity(loc)
    return loc

  def batch_shape_at(self, loc_shape, event_ndims):
    """The static batch shape of `at(loc, event_ndims)` for a location of static shape `loc_shape`.

    TFP's rule (see `broadcast_shape`): the broadcast of `loc_shape[:-event_ndims]` and the
    scale's batch axes. With `loc_shape` an event shape alone, this is the batch shape of the
    kernel's own parameters (`[]` unless the scale has more axes than the event), which
    `spreadtf.spread` broadcasts with the batch shape of the distribution it spreads.

    Args:
      loc_shape: a `tf.TensorShape` (or list) of rank >= `event_ndims`.
      event_ndims: Python int, the trailing axes forming one event.

    Returns:
      A `tf.TensorShape`.

    Raises:
      ValueError: if the shapes do not line up (see `broadcast_shape`).
    """
    shape = broadcast_shape(loc_shape, self._scale.shape, event_ndims)
    return shape[:shape.rank - event_ndims]

  def sample_spread(self, x, seed=None):
    """Spreads data: returns y = x + eps with eps ~ K (`noise`), one draw per element of `x`.

    Args:
      x: float tensor `[batch..., event...]`.
      seed: None, a Python int or a stateless seed (see `noise`).

    Returns:
      y, a tensor with the dtype of `x` and the shape of `x` (broadcast against `scale` if the
      scale has more axes or a larger batch): a draw from `at(x, event_ndims)`.

    Raises:
      ValueError: if the shapes of `x` and `scale` do not line up.
    """
    x, noise_shape = self._checked_data(x)
    return x + self.noise(noise_shape, seed=seed)

  def spread_mean(self, x):
    """E[y | x] = x: a stationary kernel's noise has mean zero.

    The paper's lower-variance objective scores the decoder at the spread mean of the data instead
    of at a noisy sample.

    Args:
      x: float tensor `[batch..., event...]`.

    Returns:
      A tensor with the shape of `x`.
    """
    return tf.convert_to_tensor(arguments.convert_floating(x, 'x', dtype=self.dtype))

  @abc.abstractmethod
  def noise(self, shape, seed=None):
    """Samples kernel noise eps ~ K of the given shape.

    Args:
      shape: output shape `[batch..., event...]` (a list or an int32 tensor).
      seed: None, a Python int or a stateless seed (int32 tensor of shape `[2]`). Only stateless
        seeds are reproducible under `tf.function(jit_compile=True)`.

    Returns:
      A float tensor of `shape`.
    """

  @abc.abstractmethod
  def variance(self):
    """Per-coordinate variance of the noise."""

  @abc.abstractmethod
  def characteristic_function(self, omega, event_ndims):
    """E[exp(i omega . eps)] for eps ~ K (real, because K is symmetric).

    Args:
      omega: float tensor of frequencies `[..., event...]`.
      event_ndims: number of trailing axes of `omega` forming one frequency vector.

    Returns:
      A float tensor `omega.shape[:-event_ndims]`; strictly positive for a valid spread.
    """

  @abc.abstractmethod
  def _checked_data(self, x):
    """Returns (`x` checked as a tensor of the kernel's dtype, the shape of its noise)."""
