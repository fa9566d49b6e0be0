"""Named sub-seeds of a run's single integer seed (data shuffle, model noise, sample grid)."""

import zlib

import numpy as np

__all__ = ['sub_seed']


def sub_seed(seed, name):
  """A named, deterministic 31-bit sub-seed of the run seed (e.g. 'data', 'model').

  Args:
    seed: the run's integer seed.
    name: what the sub-seed is for; different names give independent seeds.

  Returns:
    A Python int in [0, 2**31 - 1).
  """
  state = np.random.SeedSequence([seed, zlib.crc32(name.encode())]).generate_state(1)
  return int(state[0] % (2 ** 31 - 1))
