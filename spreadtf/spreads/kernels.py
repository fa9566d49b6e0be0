"""Stationary spread kernels K(y - x): the noise that makes a spread divergence well defined.

A spread kernel turns a distribution p(x) that may have no density (a point mass, an empirical data
set, a generator living on a low-dimensional manifold) into the spread distribution

    p~(y) = integral K(y - x) p(x) dx,

which has a density everywhere. If the Fourier transform of K is strictly positive, the map
p -> p~ is injective, so D(p~ || q~) = 0 if and only if p = q: any divergence between spread
distributions is a valid divergence between the originals (Zhang et al., 2020, Theorem 1).

Kernels here are small `tf.Module`s (so they can be tracked by `tf.train.Checkpoint` and, for the
learned kernels, own variables). They never subclass `tfd.Distribution`: `kernel.at(loc)` returns
the noise distribution around `loc` as an ordinary TFP distribution.

#### References

[1] Mingtian Zhang, Peter Hayes, Tom Bird, Raza Habib, David Barber. Spread Divergence.
    In International Conference on Machine Learning (ICML), 2020. https://arxiv.org/abs/1811.08968
"""

import numbers

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

tfd = tfp.distributions

__all__ = ['SpreadKernel', 'GaussianSpread', 'LaplaceSpread', 'broadcast_shape']


def _is_python_constant(value):
  if isinstance(value, numbers.Number):
    return True
  if isinstance(value, (list, tuple)):
    return all(_is_python_constant(v) for v in value)
  return False


def _float_dtype_of(value, name):
  """Returns the floating dtype `value` has (float32 for Python numbers); rejects integers."""
  dtype = getattr(value, 'dtype', None)
  if dtype is None:
    if _is_python_constant(value):
      return tf.float32
    raise TypeError(f'`{name}` must be a number or a floating tensor, got {type(value).__name__}.')
  dtype = tf.as_dtype(dtype)
  if not dtype.is_floating:
    raise TypeError(f'`{name}` must have a floating dtype, got {dtype.name}.')
  return dtype


def is_positive_int(value):
  """Whether `value` is a Python or NumPy integer >= 1 (a bool is not)."""
  return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1


def convert_floating(value, name, dtype=None):
  """Converts `value` to a floating tensor, raising a TypeError that names `name` otherwise.

  Args:
    value: a Python number/list, NumPy array or tensor.
    name: the argument's name, used in error messages.
    dtype: optional required dtype. A tensor of a different floating dtype is an error; Python
      constants are converted to it.

  Returns:
    A floating `tf.Tensor` (or the `tf.Variable` itself, which keeps its identity for gradients).
  """
  own = _float_dtype_of(value, name)
  if dtype is not None and not _is_python_constant(value) and own != tf.as_dtype(dtype):
    raise TypeError(f'`{name}` has dtype {own.name} but the spread kernel uses '
                    f'{tf.as_dtype(dtype).name}; cast it first.')
  if isinstance(value, tf.Variable):
    return value
  return tf.convert_to_tensor(value, dtype=dtype or own, name=name)


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


class SpreadKernel(tf.Module):
  """Base class of stationary spread kernels K(y - x) with a positive `scale`.

  Subclasses define the one-dimensional noise family through `_base_noise` (the unit-scale noise
  distribution), `_make(loc, scale)` (the per-coordinate TFP distribution) and
  `_characteristic_function(omega, scale)`.

  Shapes follow TFP's broadcasting rule (see `broadcast_shape`): `scale`, scalar or per dimension,
  lines up with the trailing axes of a location `[batch..., event...]`, exactly as the `scale` of
  `tfd.Normal(loc, scale)` does. Its last `event_ndims` axes must broadcast to the event shape
  (scalar: any event; `[D]`: vectors of size D or images with D channels; `[H, W, C]`: images of
  exactly that shape); any axes before those are batch axes, one scale per batch member, and
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

  def __init__(self, scale, validate_args=False, name=None):
    """Builds the kernel.

    Args:
      scale: positive float scale, scalar or per dimension (see the class docstring for shapes).
        A value known statically (Python number, NumPy array, constant or eager tensor) that is
        not positive raises at once; a variable or a symbolic tensor is checked at run time when
        `validate_args=True`.
      validate_args: check `scale > 0` and finite locations at run time (TFP convention).
      name: module name.

    Raises:
      TypeError: if `scale` has an integer dtype.
      ValueError: if `scale` is known statically and is not strictly positive (or is NaN).
    """
    super().__init__(name=name or type(self).__name__)
    self._scale = convert_floating(scale, 'scale')
    # A variable may be reassigned later, so only its run-time check (validate_args) applies.
    static_scale = None if isinstance(scale, tf.Variable) else tf.get_static_value(self._scale)
    if static_scale is not None and not np.all(static_scale > 0):
      raise ValueError(f'`scale` must be strictly positive, got {static_scale.tolist()!r}.')
    self._validate_args = validate_args

  @property
  def scale(self):
    """The kernel's scale (Gaussian standard deviation, Laplace b), scalar or per dimension."""
    return self._scale

  @property
  def dtype(self):
    return self._scale.dtype

  @property
  def validate_args(self):
    return self._validate_args

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

  def _checked_loc(self, loc, event_ndims, name='loc'):
    loc = convert_floating(loc, name, dtype=self.dtype)
    if not isinstance(event_ndims, int) or event_ndims < 0:
      raise ValueError(f'`event_ndims` must be a non-negative Python int, got {event_ndims!r}.')
    broadcast_shape(loc.shape, self._scale.shape, event_ndims, name=name)
    if self._validate_args:
      with tf.control_dependencies([
          tf.debugging.assert_all_finite(loc, message=f'`{name}` must be finite (no NaN/inf).')]):
        loc = tf.identity(loc)
    return loc

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

  def sample_spread(self, x, seed=None):
    """Spreads data: returns y = x + eps with eps ~ K, one draw per element of `x`.

    Args:
      x: float tensor `[batch..., event...]`.
      seed: None, a Python int or a stateless seed (see `noise`).

    Returns:
      y, a tensor with the dtype of `x` and the shape of `x` broadcast against `scale` (the shape
      of `x` unless the scale has more axes or a larger batch): a draw from `at(x, event_ndims)`.

    Raises:
      ValueError: if the shapes of `x` and `scale` do not broadcast.
    """
    x = self._checked_loc(x, 0, name='x')
    shape = broadcast_shape(x.shape, self._scale.shape, 0)
    if not shape.is_fully_defined():
      shape = tf.broadcast_dynamic_shape(tf.shape(x), tf.shape(self._scale))
    return x + self.noise(shape, seed=seed)

  def spread_mean(self, x):
    """E[y | x]: the centre of the spread around `x` (x itself for a stationary kernel).

    The paper's lower-variance objective scores the decoder at the spread mean of the data instead
    of at a noisy sample; kernels that transform x first (`InjectiveSpread`: f(x)) override this.

    Args:
      x: float tensor `[batch..., event...]`.

    Returns:
      A tensor with the shape of `x`.
    """
    return tf.convert_to_tensor(convert_floating(x, 'x', dtype=self.dtype))

  def characteristic_function(self, omega, event_ndims=0):
    """E[exp(i omega . eps)] for eps ~ K (real, because K is symmetric).

    Args:
      omega: float tensor of frequencies `[..., event...]`.
      event_ndims: number of trailing axes of `omega` forming one frequency vector; the result is
        the product over them (the kernel factorises over coordinates).

    Returns:
      A float tensor `omega.shape[:-event_ndims]`; strictly positive for a valid spread.
    """
    omega = convert_floating(omega, 'omega', dtype=self.dtype)
    phi = self._characteristic_function(omega, self._checked_scale())
    return tf.reduce_prod(phi, axis=list(range(-event_ndims, 0))) if event_ndims else phi

  def variance(self):
    """Per-coordinate variance of the noise."""
    raise NotImplementedError

  # Subclass hooks.
  def _base_noise(self):
    raise NotImplementedError

  def _make(self, loc, scale):
    raise NotImplementedError

  def _characteristic_function(self, omega, scale):
    raise NotImplementedError


class GaussianSpread(SpreadKernel):
  """Gaussian spread K(y - x) = N(y | x, scale^2 I).

  `kernel.at(loc, event_ndims)` is `Independent(Normal(loc, scale), event_ndims)`, with its shapes:
  `event_shape = loc.shape[-event_ndims:]` and `batch_shape = loc.shape[:-event_ndims]`,
  broadcast with the scale's batch axes if it has any (see `SpreadKernel`).

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


class LaplaceSpread(SpreadKernel):
  """Laplace spread K(y - x) = prod_d (1 / (2 b)) exp(-|y_d - x_d| / b).

  `kernel.at(loc, event_ndims)` is `Independent(Laplace(loc, b), event_ndims)`, with its shapes:
  `event_shape = loc.shape[-event_ndims:]` and `batch_shape = loc.shape[:-event_ndims]`,
  broadcast with the scale's batch axes if it has any (see `SpreadKernel`).

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
