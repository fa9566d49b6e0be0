"""Argument conversions and checks shared by the spread kernels.

Floating tensors that name the argument when they are not floating, positive Python numbers and
ints, and the stateless seed that initialises a learned kernel's variables.
"""

import numbers

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

__all__ = ['convert_floating', 'init_seed', 'is_positive_int', 'is_positive_number']


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


def is_positive_number(value):
  """Whether `value` is a finite real Python or NumPy number > 0 (a bool is not)."""
  return (isinstance(value, numbers.Real) and not isinstance(value, bool)
          and np.isfinite(value) and value > 0)


def convert_floating(value, name, dtype=None):
  """Converts `value` to a floating tensor, raising a TypeError that names `name` otherwise.

  Args:
    value: a Python number/list, NumPy array or tensor.
    name: the argument's name, used in error messages.
    dtype: optional required dtype. A tensor of a different floating dtype is an error; Python
      constants are converted to it.

  Returns:
    A floating `tf.Tensor` (or the `tf.Variable` itself, which keeps its identity for gradients).

  Raises:
    TypeError: if `value` is not floating, or is a tensor of another floating dtype than `dtype`.
  """
  own = _float_dtype_of(value, name)
  if dtype is not None and not _is_python_constant(value) and own != tf.as_dtype(dtype):
    raise TypeError(f'`{name}` has dtype {own.name} but the spread kernel uses '
                    f'{tf.as_dtype(dtype).name}; cast it first.')
  if isinstance(value, tf.Variable):
    return value
  return tf.convert_to_tensor(value, dtype=dtype or own, name=name)


def init_seed(seed):
  """A stateless seed (int32 `[2]`) for variable initialisation.

  A Python int maps deterministically to `[0, seed]` (unlike TFP samplers, where an int seed is
  stateful); a shape-`[2]` seed is used as is; None draws a fresh seed from the global RNG.

  Args:
    seed: None, a Python or NumPy int, or a stateless seed (int tensor of shape `[2]`).

  Returns:
    An int32 tensor of shape `[2]`.
  """
  if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
    return tf.constant([0, int(seed)], dtype=tf.int32)
  return tfp.random.sanitize_seed(seed)
