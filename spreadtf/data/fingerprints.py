"""What a data set reads, recorded so a training run can tell when its data changed.

A fingerprint is a small flat dict of JSON values: `source` (what is read, for messages, e.g.
"image folder '/data/img'") and the quantities that change when the data does: file counts and
a hash of the file names for a folder, a content hash for an `.npz` file or a CSV, name, version
and split size for TFDS, the parameters of fake data. Every source module has a public
`fingerprint(split, *, ...)` taking its factory's configuration, and every factory records on
the dataset it returns how to compute it (`record`; lazily, since only training needs it).
`of(dataset)` finds that record on the dataset or on any dataset it was built from, so a
user's `dataset.map(...)` on a spreadtf source keeps the source's fingerprint; a data function
of your own has none unless it calls `record`. `differences` says what changed, e.g.
'folder_files: 20 then, 22 now'.

The training root (`training.input_checks`) keeps the fingerprints of the splits it reads in
every checkpoint and compares them when it resumes. What each source cannot see is in its
`fingerprint` docstring (e.g. a folder's image replaced by another under the same name).
"""

import functools
import hashlib
import weakref

import numpy as np
import tensorflow as tf

from spreadtf import _compat

__all__ = ['record', 'of', 'differences', 'sha256_of_lines', 'sha256_of_file',
           'sha256_of_array']

_RECORDED = weakref.WeakKeyDictionary()  # dataset -> zero-argument fingerprint function
_CHUNK = 1 << 20  # bytes read at a time when hashing a file


def record(dataset, fingerprint_fn, *args, **kwargs):
  """Notes that `dataset` reads what `fingerprint_fn(*args, **kwargs)` describes.

  Args:
    dataset: the `tf.data.Dataset` a data factory returns.
    fingerprint_fn: returns the fingerprint dict (called only when `of` asks).
    *args: its positional arguments, e.g. the split.
    **kwargs: its keyword arguments, e.g. the factory's configuration.

  Returns:
    `dataset`.
  """
  _RECORDED[dataset] = functools.partial(fingerprint_fn, *args, **kwargs)
  return dataset


def _sources(dataset):
  """The recorded fingerprint functions of `dataset` and the datasets it is built from."""
  found, seen, stack = [], set(), [dataset]
  while stack:
    current = stack.pop()
    if id(current) in seen:
      continue
    seen.add(id(current))
    if current in _RECORDED:
      found.append(_RECORDED[current])
    else:  # A recorded source is where the fingerprint is; what it is built from is not read.
      stack.extend(reversed(_compat.dataset_inputs(current)))  # Popped in input order.
  return found


def of(dataset):
  """The fingerprint of the data `dataset` reads (see the module docstring), or None.

  Args:
    dataset: a `tf.data.Dataset` from a spreadtf data factory, or built from one or more.

  Returns:
    The recorded source's fingerprint dict; for several sources one dict with their keys
    prefixed `<i>.` and their sources joined; None when no source recorded one.
  """
  sources = _sources(dataset)
  if not sources:
    return None
  if len(sources) == 1:
    return sources[0]()
  combined = {}
  for i, source in enumerate(sources):
    combined.update({f'{i}.{key}': value for key, value in source().items()})
  combined['source'] = ' + '.join(str(combined[f'{i}.source']) for i in range(len(sources)))
  return combined


def _shown(value):
  """A value for a message: hashes shortened to 12 characters."""
  if isinstance(value, str) and len(value) == 64 and all(c in '0123456789abcdef' for c in value):
    return value[:12]
  return value


def differences(then, now):
  """What differs between two fingerprints, e.g. `['files: 20 then, 22 now']` (empty if none).

  Keys are listed in sorted order; a key one of them lacks reads '(none)'.
  """
  lines = []
  for key in sorted(set(then) | set(now)):
    if then.get(key) != now.get(key):
      lines.append(f'{key}: {_shown(then.get(key, "(none)"))} then, '
                   f'{_shown(now.get(key, "(none)"))} now')
  return lines


def sha256_of_lines(lines):
  """SHA-256 (hex) of the strings `lines`, each followed by a newline."""
  digest = hashlib.sha256()
  for line in lines:
    digest.update(line.encode('utf-8') + b'\n')
  return digest.hexdigest()


def sha256_of_file(path):
  """SHA-256 (hex) of the bytes of the file `path` (local or any `tf.io.gfile` path)."""
  digest = hashlib.sha256()
  with tf.io.gfile.GFile(path, 'rb') as f:
    while chunk := f.read(_CHUNK):
      digest.update(chunk)
  return digest.hexdigest()


def sha256_of_array(array):
  """SHA-256 (hex) of a NumPy array's dtype, shape and values."""
  array = np.ascontiguousarray(array)
  digest = hashlib.sha256(f'{array.dtype.str}{array.shape}'.encode('ascii'))
  digest.update(array.tobytes())
  return digest.hexdigest()
