"""Named sub-seeds: one integer run seed, a deterministic and independent seed per named use.

A root (the ICA root `spreadtf.ica.ica_run.run`, the training root) takes one integer seed and
derives every other seed from it by name (data, initial parameters, EM noise, ...), never by bare
salts such as `[seed, 0]`, `[seed, 1]`:

    problem_seed = seeding.sub_seed(seed, 'mixing')                   # Python int in [0, 2^31 - 1)
    stateless = tf.constant([seeding.sub_seed(seed, 'em'), 0], tf.int32)

The derivation hashes the name (CRC-32) and mixes it with the seed through NumPy's
`SeedSequence` (the spawn mechanism disentanglement_lib's `RandomState` seeding follows), so
different names give unrelated streams and adding a new name never changes an existing one.
This module needs only NumPy, so both `spreadtf.ica` and `spreadtf.training` can import it
without importing each other.
"""

import numbers
import zlib

import numpy as np

__all__ = ['sub_seed']


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
