"""Synthetic ICA data: x = A z + gamma eps, A entries uniform on {-1, +1}, i.i.d. sources.

Everything is drawn with stateless TF seeds derived by name from one integer
(`spreadtf.seeding.sub_seed`: 'mixing', 'sources', 'noise', 'initial_mixing'), so a (seed, sizes)
pair always gives the same problem.
"""

import collections

import tensorflow as tf

from spreadtf import seeding
from spreadtf.ica import mixing_model

__all__ = ['Problem', 'make_problem', 'initial_mixing']

Problem = collections.namedtuple('Problem', ['x', 'mixing', 'sources'])
Problem.__doc__ = """An ICA data set.

Attributes:
  x: observed data `[num_points, x_dim]`.
  mixing: the true mixing matrix A `[x_dim, z_dim]`, entries in {-1, +1}.
  sources: the latent sources z `[num_points, z_dim]`.
"""


def _stateless_seed(seed, name):
  return tf.constant(seeding.stateless_seed(seed, name))


def make_problem(x_dim, z_dim, num_points, gamma, seed, source=None, dtype=tf.float32):
  """Draws A with +-1 entries, sources from `source` and x = A z + gamma eps.

  Args:
    x_dim: number of observed dimensions X.
    z_dim: number of sources Z.
    num_points: number of data points N.
    gamma: observation-noise standard deviation (0 for deterministic ICA).
    seed: the run seed, a non-negative Python int.
    source: scalar `tfd.Distribution` of each source; defaults to
      `mixing_model.laplace_source(dtype)` (zero-mean, unit-variance Laplace).
    dtype: float dtype of the returned tensors.

  Returns:
    A `Problem` of tensors.
  """
  source = mixing_model.laplace_source(dtype) if source is None else source
  mixing_model.check_source(source)
  signs = tf.random.stateless_uniform([x_dim, z_dim], _stateless_seed(seed, 'mixing'), maxval=2,
                                      dtype=tf.int32)
  mixing = tf.cast(2 * signs - 1, dtype)
  sources = tf.cast(source.sample([num_points, z_dim], seed=_stateless_seed(seed, 'sources')),
                    dtype)
  noise = tf.random.stateless_normal([num_points, x_dim], _stateless_seed(seed, 'noise'),
                                     dtype=dtype)
  x = tf.matmul(sources, mixing, transpose_b=True) + tf.cast(gamma, dtype) * noise
  return Problem(x=x, mixing=mixing, sources=sources)


def initial_mixing(x_dim, z_dim, seed, dtype=tf.float32):
  """The EM starting point: entries i.i.d. N(0, 1), the same for every EM variant of a run.

  Args:
    x_dim: number of observed dimensions X.
    z_dim: number of sources Z.
    seed: the run seed, a non-negative Python int.
    dtype: float dtype.

  Returns:
    A tensor `[x_dim, z_dim]`.
  """
  return tf.random.stateless_normal([x_dim, z_dim], _stateless_seed(seed, 'initial_mixing'),
                                    dtype=dtype)
