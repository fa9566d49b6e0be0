"""Named sub-seeds: one integer run seed, a deterministic and independent seed per named use.

A root (the ICA root `spreadtf.ica.ica_run.run`, the training root, the evaluation root) takes
one integer seed and derives every other seed from it by name (data, initial parameters, EM
noise, ...), never by bare salts such as `[seed, 0]`, `[seed, 1]`. There are two forms, and one
convention for each:

    problem_seed = seeding.sub_seed(seed, 'mixing')          # Python int in [0, 2^31 - 1)
    stateless = tf.constant(seeding.stateless_seed(seed, 'em'))  # int32 [2]: [sub_seed, 0]

A stateless seed is always `[sub_seed(seed, name), 0]`; per-step or per-batch seeds fold an index
into it (`tf.random.experimental.stateless_fold_in`).

The derivation hashes the name (CRC-32) and mixes it with the seed through NumPy's
`SeedSequence` (the spawn mechanism disentanglement_lib's `RandomState` seeding follows), so
different names give unrelated streams and adding a new name never changes an existing one.
This module needs only NumPy, so both `spreadtf.ica` and `spreadtf.training` can import it
without importing each other.
"""

import numbers
import zlib

import numpy as np

__all__ = ['sub_seed', 'stateless_seed']


def sub_seed(seed, name):
  """A named, deterministic 31-bit sub-seed of the run seed.

  Args:
    seed: the run's seed, a non-negative Python (or NumPy) integer.
    name: what the sub-seed is for, e.g. 'data', 'model', 'mixing'.

  Returns:
    A Python int in [0, 2^31 - 1), usable as a NumPy, sklearn or TF seed (and as either entry
    of an int32 stateless seed).

  Raises:
    ValueError: if `seed` is not a non-negative integer or `name` is not a non-empty string.
  """
  if (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)) or seed < 0:
    raise ValueError(f'the run seed must be a non-negative integer, got {seed!r}.')
  if not isinstance(name, str) or not name:
    raise ValueError(f'a sub-seed name must be a non-empty string, got {name!r}.')
  state = np.random.SeedSequence([int(seed), zlib.crc32(name.encode())]).generate_state(1)
  return int(state[0] % (2 ** 31 - 1))


def stateless_seed(seed, name):
  """The named stateless seed of the run seed: `[sub_seed(seed, name), 0]` as int32.

  The one convention for a TensorFlow stateless seed (`tf.random.stateless_*`, which need an
  int32 or int64 `[2]`) derived from a run seed; pass it through `tf.constant` in TF code.

  Args:
    seed: the run's seed, a non-negative Python (or NumPy) integer.
    name: what the seed is for, e.g. 'em', 'samples', 'elbo'.

  Returns:
    A NumPy int32 array `[2]`.

  Raises:
    ValueError: as `sub_seed`.
  """
  return np.array([sub_seed(seed, name), 0], np.int32)
