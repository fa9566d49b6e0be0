"""Keras weight files pinned by their SHA-256: written atomically, checked before they are loaded.

The feature extractors that ship with spreadtf (`shipped_features`) are a network built in code
plus a `.weights.h5` file. Keras writes such a file byte for byte the same for the same weights,
so the SHA-256 of the file (what `sha256sum` prints) identifies the weights; the code pins it, and
a file that does not match is refused before any weight is read.

    sha = pinned_weights.write_weights(model, 'spreadtf/evaluation/weights/x.weights.h5')
    pinned_weights.check_sha256(path, expected=sha, how_to_fix='...')   # raises on a mismatch
"""

import hashlib
import os
import tempfile

import tensorflow as tf

from spreadtf import files

__all__ = ['WeightsMismatchError', 'file_sha256', 'write_weights', 'check_sha256']


class WeightsMismatchError(ValueError):
  """A pinned weights file is missing or its SHA-256 is not the pinned one."""


def file_sha256(path):
  """The hex SHA-256 of the bytes of the file `path` (local or any `tf.io.gfile` path)."""
  digest = hashlib.sha256()
  with tf.io.gfile.GFile(path, 'rb') as f:
    while chunk := f.read(1 << 20):
      digest.update(chunk)
  return digest.hexdigest()


def write_weights(model, path):
  """Writes `model.save_weights` to `path` atomically and returns the file's SHA-256.

  Args:
    model: a built `keras.Model` whose layers all have explicit names (so the file loads into a
      model built in another process).
    path: the destination, ending in `.weights.h5`; its directory is created.

  Returns:
    The hex SHA-256 of the written file.

  Raises:
    ValueError: if `path` does not end in `.weights.h5`.
    OSError: naming `path` when it cannot be written (nothing existing is changed).
  """
  path = os.fspath(path)
  if not path.endswith('.weights.h5'):
    raise ValueError(f'a Keras weights file must end in .weights.h5, got {path!r}.')
  with tempfile.TemporaryDirectory() as staging:
    staged = os.path.join(staging, os.path.basename(path))
    model.save_weights(staged)
    with open(staged, 'rb') as f:
      data = f.read()
  directory = os.path.dirname(path)
  if directory:
    tf.io.gfile.makedirs(directory)
  files.write_bytes(path, data)
  return hashlib.sha256(data).hexdigest()


def check_sha256(path, expected, how_to_fix):
  """Raises unless the file `path` exists and its SHA-256 is `expected`.

  Args:
    path: the weights file.
    expected: the pinned hex SHA-256.
    how_to_fix: a sentence appended to the error, saying what to do.

  Raises:
    WeightsMismatchError: naming the path, both hashes and `how_to_fix`, when the file is missing
      or differs.
  """
  if not tf.io.gfile.exists(path):
    raise WeightsMismatchError(f'the weights file {path!r} is missing. {how_to_fix}')
  actual = file_sha256(path)
  if actual != expected:
    raise WeightsMismatchError(
        f'the weights file {path!r} has SHA-256 {actual}, but {expected} is pinned: it was '
        f'modified, truncated or replaced, so its features would not compare with published '
        f'numbers. {how_to_fix}')
