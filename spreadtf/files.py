"""Atomic file output: write to a temporary name beside the target, then rename over it.

A reader (or a resumed run) never sees a half-written `metrics.json`, `eval.json`, config, CSV or
PNG: a process killed mid-write leaves the old file (or none) plus a `*.tmp-*` file that the next
write ignores. Works through `tf.io.gfile`, so the same calls write local paths and `gs://...`.
On a local disk `rename` is atomic (POSIX `rename(2)`); on object stores such as GCS an object only
appears once its upload completes, so the final name is never half-written there either.

    files.write_json(os.path.join(workdir, 'metrics.json'), metrics)
    files.write_bytes(os.path.join(workdir, 'plot.png'), png_bytes)
"""

import json
import math
import os
import uuid

import numpy as np
import tensorflow as tf

__all__ = ['temporary_name', 'stale_temporaries', 'write_bytes', 'write_text', 'json_ready',
           'write_json', 'save_model']


def temporary_name(path):
  """A unique name beside `path` (same directory, so a rename stays on one file system)."""
  directory, base = os.path.split(path)
  return os.path.join(directory, f'.{base}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}')


def stale_temporaries(path):
  """Temporary names beside `path` left by other processes killed mid-write (files or dirs).

  Args:
    path: a target path, e.g. `<workdir>/metrics.json`.

  Returns:
    Sorted paths `.<name>.tmp-<pid>-<hex>` beside `path` whose pid is not this process's.
  """
  directory, base = os.path.split(path)
  if not _exists(directory or '.'):
    return []
  found = tf.io.gfile.glob(os.path.join(directory, f'.{base}.tmp-*'))
  return sorted(p for p in found if p.rsplit('.tmp-', 1)[1].split('-')[0] != str(os.getpid()))


def write_bytes(path, data):
  """Writes `data` (bytes or str) to `path` atomically, replacing any existing file.

  Args:
    path: destination file (local or any `tf.io.gfile` path); its directory must exist.
    data: `bytes` or `str` (written as UTF-8).

  Returns:
    `path`.

  Raises:
    OSError: naming `path` when it cannot be written (no such directory, a file in the way,
      no permission). Nothing existing is changed.
  """
  tmp = temporary_name(path)
  try:
    with tf.io.gfile.GFile(tmp, 'wb') as f:
      f.write(data.encode('utf-8') if isinstance(data, str) else data)
    tf.io.gfile.rename(tmp, path, overwrite=True)
  except tf.errors.OpError as e:
    raise OSError(f'cannot write {path!r}: {e.message}') from e
  finally:
    if _exists(tmp):
      tf.io.gfile.remove(tmp)
  return path


def _exists(path):
  try:
    return tf.io.gfile.exists(path)
  except tf.errors.OpError:  # e.g. a file where a directory should be
    return False


def write_text(path, text):
  """Writes the string `text` to `path` atomically (see `write_bytes`)."""
  return write_bytes(path, text)


def json_ready(value):
  """`value` for strict JSON: NumPy scalars as Python numbers, NaN and inf as None (null).

  Dicts, lists and tuples are converted recursively (tuples become lists, as JSON reads them).
  """
  if isinstance(value, dict):
    return {k: json_ready(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [json_ready(v) for v in value]
  if isinstance(value, np.generic):
    value = value.item()
  if isinstance(value, float) and not math.isfinite(value):
    return None
  return value


def write_json(path, obj):
  """Writes `obj` as indented strict JSON (NaN and inf are errors) to `path` atomically.

  Raises:
    ValueError: if `obj` holds NaN or inf (`json_ready` replaces them by None); nothing is
      written.
  """
  return write_bytes(path, json.dumps(obj, indent=2, allow_nan=False) + '\n')


def save_model(module, path, signatures, what, extra_files=None):
  """`tf.saved_model.save(module, ...)` to `path` atomically: staged beside it, then swapped in.

  Temporary exports left beside `path` by an earlier process killed mid-save are removed first.
  The swap is two renames (local disks: atomic each; object stores emulate renames by copying).

  Args:
    module: the `tf.Module` to save.
    path: output directory; an existing SavedModel there is replaced only once the new one is
      complete.
    signatures: as for `tf.saved_model.save`.
    what: what is saved, for errors (e.g. 'the generator export').
    extra_files: None, or `{name: bytes or str}` of files written into the SavedModel directory
      with it (staged too, so they appear together with the model they describe).

  Returns:
    `path`.

  Raises:
    OSError: naming `what` and `path` if it cannot be written (a file in the way, a parent
      that is not writable); an existing SavedModel is left in place.
  """
  _remove_stale(path)
  staging = temporary_name(path)
  try:
    tf.saved_model.save(module, staging, signatures=signatures)
    for name, data in (extra_files or {}).items():
      write_bytes(os.path.join(staging, name), data)
    _swap_in(staging, path, what)
  except tf.errors.OpError as e:
    raise OSError(f'cannot write {what} to {path!r}: {e.message}') from e
  finally:
    if tf.io.gfile.exists(staging):
      tf.io.gfile.rmtree(staging)
  return path


def _swap_in(staging, path, what):
  """Replaces `path` (if any) by the complete directory `staging`."""
  if tf.io.gfile.exists(path):
    if not tf.io.gfile.isdir(path):
      raise OSError(f'cannot write {what} to {path!r}: a file is in the way; move it aside or '
                    'choose another path.')
    old = temporary_name(path)
    tf.io.gfile.rename(path, old)
    tf.io.gfile.rename(staging, path)
    tf.io.gfile.rmtree(old)
  else:
    tf.io.gfile.rename(staging, path)


def _remove_stale(path):
  """Deletes temporary directories beside `path` left by an earlier process killed mid-save."""
  for stale in stale_temporaries(path):
    if tf.io.gfile.isdir(stale):
      tf.io.gfile.rmtree(stale)
