"""The spread-kernel interface: what `spread`, the divergences and `SpreadVAE` ask of a kernel.

A spread kernel K turns a distribution p(x) that may have no density (a point mass, an empirical
data set, a generator living on a low-dimensional manifold) into the spread distribution

    p~(y) = integral K(y | x) p(x) dx,

which has a density everywhere. `SpreadKernel` is the abstract base class every kernel derives
from; `check_spread_kernel` is how the library refuses anything else with a TypeError that says
what to implement.

The kernels of this package (one job per module):

    SpreadKernel (this module)          the interface
    |-- StationaryKernel (stationary)   K(y - x) with a positive scale: noise, variance,
    |   |                               characteristic function; y = x + noise
    |   |-- FactorizedKernel (kernels)  K factorises over coordinates
    |   |   |-- GaussianSpread, LaplaceSpread
    |   |-- LowRankGaussianSpread (lowrank)   N(0, s^2 I + L L^T)
    |-- InjectiveSpread (injective)     K(y - f(x)) with an injective f and any base kernel

`spread` finds exact spread distributions through a registry (`spread_registry.RegisterSpread`),
so a new kernel may also register closed forms for the distributions it spreads exactly.

#### References

[1] Mingtian Zhang, Peter Hayes, Tom Bird, Raza Habib, David Barber. Spread Divergence.
    In International Conference on Machine Learning (ICML), 2020. https://arxiv.org/abs/1811.08968
"""

import abc

import tensorflow as tf

__all__ = ['SpreadKernel', 'check_spread_kernel']


class SpreadKernel(tf.Module, abc.ABC):
  """Abstract base class of spread kernels K(y | x): a `tf.Module`, never a `tfd.Distribution`.

  A kernel is a small `tf.Module`, so `tf.train.Checkpoint` tracks it and a learned kernel owns
  its variables (`trainable_variables`, which a spread optimizer ascends). `kernel.at(loc)`
  returns the noise distribution around `loc` as an ordinary TFP distribution.

  Subclasses implement:

  - `at(loc, event_ndims)`: K(. | loc) as a `tfd.Distribution` with
    `event_shape = loc.shape[-event_ndims:]` and `batch_shape = loc.shape[:-event_ndims]`
    (broadcast with the kernel's own batch axes, if its parameters have any: TFP's rule);
  - `batch_shape_at(loc_shape, event_ndims)`: the static `batch_shape` of `at` for a location of
    static shape `loc_shape`, without building it (`spread` lines the kernel's batch axes up with
    the distribution's through it);
  - `sample_spread(x, seed)`: y ~ K(. | x), one draw per event of `x`, reproducible under
    `tf.function(jit_compile=True)` with a stateless seed;
  - `spread_mean(x)`: E[y | x], where the lower-variance objective scores the decoder (x for a
    stationary kernel, f(x) for an injective one);
  - `dtype`: the floating dtype of the kernel's parameters and of the points it spreads;
  - `is_valid_spread`: a Python bool, whether the spread divergence is a divergence with this
    kernel (a stationary K with a strictly positive Fourier transform, or such a K after an
    injective map; Zhang et al., 2020, Theorem 1 and eqs. 16-17). Say why in the docstring.

  `validate_args` (the TFP convention: check values at run time) is stored here; distributions
  built from the kernel (`at`, the closed forms of `spread`) get it too.

  #### Examples

  A new kernel subclasses this class (or `StationaryKernel` / `FactorizedKernel`, which
  implement most of it for a kernel K(y - x)) and works with `spread`, `spread_kl` and
  `SpreadVAE` unchanged:

  ```python
  class ShiftedGaussian(spreadtf.SpreadKernel):
    '''K(y | x) = N(y | x + 1, s^2 I): a stationary Gaussian after the injective x -> x + 1.'''

    def __init__(self, scale):
      super().__init__()
      self._base = spreadtf.GaussianSpread(scale)

    dtype = property(lambda self: self._base.dtype)
    is_valid_spread = property(lambda self: True)

    def at(self, loc, event_ndims=1):
      return self._base.at(self.spread_mean(loc), event_ndims)

    def batch_shape_at(self, loc_shape, event_ndims=1):
      return self._base.batch_shape_at(loc_shape, event_ndims)

    def sample_spread(self, x, seed=None):
      return self._base.sample_spread(self.spread_mean(x), seed=seed)

    def spread_mean(self, x):
      return tf.convert_to_tensor(x, self.dtype) + 1.
  ```

  #### References

  [1] Mingtian Zhang, Peter Hayes, Tom Bird, Raza Habib, David Barber. Spread Divergence.
      ICML 2020. https://arxiv.org/abs/1811.08968
  """

  def __init__(self, validate_args=False, name=None):
    """Builds the module.

    Args:
      validate_args: Python bool, check values at run time (TFP convention).
      name: module name (default: the class name).
    """
    super().__init__(name=name or type(self).__name__)
    self._validate_args = validate_args

  @property
  def validate_args(self):
    """Python bool: check values at run time (TFP convention)."""
    return self._validate_args

  @property
  @abc.abstractmethod
  def dtype(self):
    """The floating `tf.DType` of the kernel and of the points it spreads."""

  @property
  @abc.abstractmethod
  def is_valid_spread(self):
    """Python bool: whether the spread divergence with this kernel is a divergence."""

  @abc.abstractmethod
  def at(self, loc, event_ndims):
    """The noise distribution K(. | loc) around `loc`.

    Args:
      loc: float tensor `[batch..., event...]`.
      event_ndims: Python int, how many trailing axes of `loc` form one event (0 scalars,
        1 vectors, 3 images `[height, width, channels]`).

    Returns:
      A `tfd.Distribution` with `event_shape = loc.shape[-event_ndims:]` and
      `batch_shape = batch_shape_at(loc.shape, event_ndims)`.
    """

  @abc.abstractmethod
  def batch_shape_at(self, loc_shape, event_ndims):
    """The static batch shape of `at(loc, event_ndims)` for `loc` of static shape `loc_shape`.

    Args:
      loc_shape: a `tf.TensorShape` (or list) of rank >= `event_ndims`.
      event_ndims: Python int, the trailing axes forming one event.

    Returns:
      A `tf.TensorShape`: `loc_shape[:-event_ndims]`, broadcast with the batch axes of the
      kernel's parameters if they have any.
    """

  @abc.abstractmethod
  def sample_spread(self, x, seed=None):
    """Spreads data: y ~ K(. | x), one independent draw per event of `x`.

    Args:
      x: float tensor `[batch..., event...]`.
      seed: None, a Python int or a stateless seed (int32 tensor of shape `[2]`); only a
        stateless seed is reproducible under `tf.function(jit_compile=True)`.

    Returns:
      y, a tensor of the dtype of `x` and its shape (broadcast with the kernel's batch axes if
      its parameters have any).
    """

  @abc.abstractmethod
  def spread_mean(self, x):
    """E[y | x]: the centre of the spread around `x`.

    Args:
      x: float tensor `[batch..., event...]`.

    Returns:
      A tensor with the shape of `x`.
    """


def check_spread_kernel(kernel, name='kernel'):
  """Returns `kernel` if it is a `SpreadKernel`; otherwise says what to implement.

  Args:
    kernel: the object passed as a spread kernel.
    name: the argument's name, used in the error message.

  Returns:
    `kernel`.

  Raises:
    TypeError: if `kernel` is not a `SpreadKernel`.
  """
  if isinstance(kernel, SpreadKernel):
    return kernel
  members = ', '.join(sorted(SpreadKernel.__abstractmethods__))
  raise TypeError(
      f'`{name}` must be a spreadtf.SpreadKernel, got {type(kernel).__name__}. Use a kernel of '
      'spreadtf (GaussianSpread, LaplaceSpread, LowRankGaussianSpread, InjectiveSpread) or '
      f'subclass spreadtf.SpreadKernel and implement {members} (spreadtf.StationaryKernel and '
      'spreadtf.FactorizedKernel implement most of them for a kernel K(y - x)).')
