"""Per-image evaluation values next to `eval.json`: `<workdir>/eval_per_image.npz`.

`eval.json` holds each metric's mean over the held-out images; this file holds the values it is
the mean of, one per image (element i is held-out image i in the split's order), so a report can
bootstrap over test images (`statistics.bootstrap_interval`):

    per_image.write(workdir, test_elbo=elbo['per_example'], iw_log_likelihood=iw['per_example'])
    values = per_image.read(workdir)        # {'test_elbo': array([...]), ...}, {} without a file

Arrays may differ in length (the importance-weighted likelihood may use only the first images).
The file is written atomically and read without pickle.
"""

import io
import os

import numpy as np
import tensorflow as tf

from spreadtf import files
from spreadtf.training import workdir_layout

__all__ = ['FILENAME', 'path', 'write', 'read']

FILENAME = os.path.basename(workdir_layout.WorkdirLayout('').eval_per_image)


def path(workdir):
  """`<workdir>/eval_per_image.npz` (`WorkdirLayout.eval_per_image`)."""
  return workdir_layout.WorkdirLayout(workdir).eval_per_image


def write(workdir, **values):
  """Writes per-image metrics to `<workdir>/eval_per_image.npz` (atomically, replacing it).

  Args:
    workdir: the run's directory (it must exist).
    **values: metric key (as in `eval.json`) -> per-image values, 1-d, shape `[num_images]`.

  Returns:
    The file's path.

  Raises:
    ValueError: for no values, or an array that is not a non-empty 1-d array of real numbers.
    OSError: naming the path when it cannot be written.
  """
  if not values:
    raise ValueError('per_image.write needs at least one metric, e.g. test_elbo=array.')
  arrays = {}
  for key, value in values.items():
    array = np.asarray(value)
    if array.ndim != 1 or not len(array) or not np.issubdtype(array.dtype, np.number) or (
        np.iscomplexobj(array)):
      raise ValueError(f'per-image {key!r} must be a non-empty 1-d array of real numbers (one '
                       f'per image), got dtype {array.dtype} and shape {array.shape}.')
    arrays[key] = array.astype(np.float64)
  buffer = io.BytesIO()
  np.savez(buffer, **arrays)
  return files.write_bytes(path(workdir), buffer.getvalue())


def read(workdir):
  """The per-image metrics of a run: `{key: float64 array [num_images]}`, {} if it has none.

  Raises:
    ValueError: naming the file when it is not a readable `.npz` archive.
  """
  file_path = path(workdir)
  if not tf.io.gfile.exists(file_path):
    return {}
  with tf.io.gfile.GFile(file_path, 'rb') as f:
    data = f.read()
  try:
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
      return {key: np.asarray(archive[key], np.float64) for key in archive.files}
  except (ValueError, OSError, EOFError) as e:
    raise ValueError(f'{file_path!r} is not a readable per-image file ({e}); rerun '
                     'launch/evaluate.py on the run to rewrite it.') from e
