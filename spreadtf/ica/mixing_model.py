"""The linear ICA model x = A z (+ gamma noise): sources, input checks and the spread level.

Shapes: the mixing matrix A is `[x_dim, z_dim]` (observed by latent), data x are
`[num_points, x_dim]`, sources z are `[num_points, z_dim]`.

#### References

[1] Mingtian Zhang, Peter Hayes, Tom Bird, Raza Habib, David Barber. Spread Divergence.
    ICML 2020, section 5.2.1 (deterministic ICA). https://arxiv.org/abs/1811.08968
"""

import math

import gin
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

tfd = tfp.distributions

__all__ = ['laplace_source', 'heuristic_spread_scale', 'check_source', 'max_mixing_condition',
           'check_inputs']


_UNIT_VARIANCE_LAPLACE_SCALE = 1. / math.sqrt(2.)


@gin.configurable(module='spreadtf.ica.mixing_model')
def laplace_source(dtype=tf.float32, scale=_UNIT_VARIANCE_LAPLACE_SCALE):
  """The paper's source prior: zero-mean Laplace, unit variance for the default scale b=1/sqrt(2).

  Args:
    dtype: float dtype of the distribution's parameters.
    scale: the Laplace scale b (variance 2 b^2).

  Returns:
    A scalar `tfd.Laplace` (`batch_shape=[]`, `event_shape=[]`), used i.i.d. for every source.
  """
  return tfd.Laplace(loc=tf.constant(0., dtype), scale=tf.constant(scale, dtype))


def heuristic_spread_scale(mixing):
  """The paper's spread level sigma = max(1e-3, 2.5 sqrt(mean(A A^T))) for the current estimate.

  mean(A A^T) over all entries equals ||A^T 1||^2 / x_dim^2 >= 0, so the root is always real.

  Args:
    mixing: float tensor `[x_dim, z_dim]`, the current estimate of A.

  Returns:
    A scalar tensor of `mixing.dtype`.
  """
  mean = tf.reduce_mean(tf.matmul(mixing, mixing, transpose_b=True))
  return tf.maximum(tf.constant(1e-3, mixing.dtype), 2.5 * tf.sqrt(tf.maximum(mean, 0.)))


def check_source(source, dtype=None):
  """Checks the source prior is a scalar TFP distribution with `log_prob`.

  Args:
    source: a `tfd.Distribution` with `batch_shape=[]` and `event_shape=[]`; it is applied
      independently to every latent coordinate.
    dtype: if given, the float dtype the source must have (that of the data).

  Raises:
    ValueError: if `source` has no `log_prob`, is not scalar, or has another dtype.
  """
  if not callable(getattr(source, 'log_prob', None)):
    raise ValueError(f'the source prior must have a `log_prob` method, got {source!r}.')
  for what in ('batch_shape', 'event_shape'):
    shape = getattr(source, what, None)
    if shape is not None and tf.TensorShape(shape).rank not in (0, None):
      raise ValueError(f'the source prior must be scalar (i.i.d. over sources); it has '
                       f'{what} {shape}.')
  source_dtype = getattr(source, 'dtype', None)
  if dtype is not None and source_dtype is not None and tf.as_dtype(source_dtype) != dtype:
    raise ValueError(f'the source prior has dtype {tf.as_dtype(source_dtype).name} but the data '
                     f'are {tf.as_dtype(dtype).name}.')


def max_mixing_condition(dtype):
  """Largest accepted condition number of the initial A when EM runs in `dtype`: 1 / sqrt(eps).

  The E-step factors the Gram matrix A^T A (Cholesky) and inverts it in the data's dtype, and
  cond(A^T A) = cond(A)^2. The inverse's relative error is at most about cond(A^T A) eps, so
  the bound cond(A) <= 1 / sqrt(eps), i.e. cond(A^T A) <= 1 / eps, is where that reaches order 1
  (about 2.9e3 for float32, 6.7e7 for float64). Measured on a float32 10 x 5 step: the update
  agrees with float64 up to Monte-Carlo noise at cond(A) = 5e3 and is off by ~40% at 1e4; an
  exactly dependent float32 column gives cond(A) ~ 1e8 (float rounding keeps it finite), which a
  fixed 1e8 threshold accepted before Cholesky failed inside the first step.

  Args:
    dtype: float dtype the EM step runs in (NumPy or TF).

  Returns:
    A Python float.
  """
  return float(1. / np.sqrt(np.finfo(tf.as_dtype(dtype).as_numpy_dtype).eps))


def check_inputs(x, mixing, gamma, max_condition=None):
  """Validates an ICA problem before any EM iteration runs.

  Args:
    x: data `[num_points, x_dim]` (array or tensor); its float dtype is the one EM runs in.
    mixing: initial mixing matrix `[x_dim, z_dim]`.
    gamma: observation-noise standard deviation of the model, >= 0.
    max_condition: largest accepted condition number of the initial mixing matrix; None for
      `max_mixing_condition` of the data's dtype (float64 for non-float data).

  Raises:
    ValueError: naming the problem: wrong ranks or sizes, NaN/inf in the data, fewer observed
      than latent dimensions (X < Z), a singular (rank-deficient or ill-conditioned) initial
      mixing matrix, or a negative gamma.
  """
  x = np.asarray(x)
  mixing = np.asarray(mixing)
  if x.ndim != 2 or mixing.ndim != 2:
    raise ValueError(f'data must be [num_points, x_dim] and the mixing matrix [x_dim, z_dim]; '
                     f'got shapes {x.shape} and {mixing.shape}.')
  if not np.all(np.isfinite(x)):
    raise ValueError(f'data contain {int(np.sum(~np.isfinite(x)))} NaN or inf values.')
  x_dim, z_dim = mixing.shape
  if x.shape[1] != x_dim:
    raise ValueError(f'data have {x.shape[1]} observed dimensions but the mixing matrix has '
                     f'{x_dim} rows.')
  if x_dim < z_dim:
    raise ValueError(f'X < Z: {x_dim} observed dimensions cannot identify {z_dim} sources; '
                     'the posterior mean needs A^T A invertible, which requires X >= Z.')
  if not np.all(np.isfinite(mixing)):
    raise ValueError('the initial mixing matrix contains NaN or inf values.')
  dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64
  if max_condition is None:
    max_condition = max_mixing_condition(dtype)
  # EM casts A to the data's dtype; the condition number of that rounded A, computed in float64.
  condition = np.linalg.cond(mixing.astype(dtype).astype(np.float64))
  if not np.isfinite(condition) or condition > max_condition:
    raise ValueError(f'the initial mixing matrix is singular (condition number {condition:.3g} '
                     f'> {max_condition:.3g} for {np.dtype(dtype).name}); A^T A must be '
                     'invertible.')
  if not np.isfinite(gamma) or gamma < 0:
    raise ValueError(f'gamma (the observation-noise standard deviation) must be >= 0, '
                     f'got {gamma}.')
