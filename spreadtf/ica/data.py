"""Synthetic ICA data: x = A z + gamma eps, A entries uniform on {-1, +1}, i.i.d. sources.

Everything is drawn with stateless TF seeds derived from one integer, so a (seed, sizes) pair
always gives the same problem.
"""

import collections

import tensorflow as tf

from spreadtf.ica import model

__all__ = ['Problem', 'make_problem', 'initial_mixing']

Problem = collections.namedtuple('Problem', ['x', 'mixing', 'sources'])
Problem.__doc__ = """An ICA data set.

Attributes:
  x: observed data `[num_points, x_dim]`.
  mixing: the true mixing matrix A `[x_dim, z_dim]`, entries in {-1, +1}.
  sources: the latent sources z `[num_points, z_dim]`.
"""


def make_problem(x_dim, z_dim, num_points, gamma, seed, source=None, dtype=tf.float32):
  """Draws A with +-1 entries, sources from `source` and x = A z + gamma eps.

  Args:
    x_dim: number of observed dimensions X.
    z_dim: number of sources Z.
    num_points: number of data points N.
    gamma: observation-noise standard deviation (0 for deterministic ICA).
    seed: Python int.
    source: scalar `tfd.Distribution` of each source; defaults to `model.laplace_source(dtype)`
      (zero-mean, unit-variance Laplace).
    dtype: float dtype of the returned tensors.

  Returns:
    A `Problem` of tensors.
  """
  source = model.laplace_source(dtype) if source is None else source
  model.check_source(source)
  base = tf.constant([seed, 0], tf.int32)
  seeds = [tf.random.experimental.stateless_fold_in(base, i) for i in range(3)]
  signs = tf.random.stateless_uniform([x_dim, z_dim], seeds[0], maxval=2, dtype=tf.int32)
  mixing = tf.cast(2 * signs - 1, dtype)
  sources = tf.cast(source.sample([num_points, z_dim], seed=seeds[1]), dtype)
  noise = tf.random.stateless_normal([num_points, x_dim], seeds[2], dtype=dtype)
  x = tf.matmul(sources, mixing, transpose_b=True) + tf.cast(gamma, dtype) * noise
  return Problem(x=x, mixing=mixing, sources=sources)


def initial_mixing(x_dim, z_dim, seed, dtype=tf.float32):
  """The EM starting point: entries i.i.d. N(0, 1), the same for every EM variant of a run.

  Args:
    x_dim: number of observed dimensions X.
    z_dim: number of sources Z.
    seed: Python int.
    dtype: float dtype.

  Returns:
    A tensor `[x_dim, z_dim]`.
  """
  seed = tf.random.experimental.stateless_fold_in(tf.constant([seed, 1], tf.int32), 0)
  return tf.random.stateless_normal([x_dim, z_dim], seed, dtype=dtype)
