"""Images held in memory: an `.npz` file with an `images` array, or sklearn's offline digits.

`npz_fingerprint` and `digits_fingerprint` describe what a split reads (a content hash and the
split's image count) for a training run's check that its data did not change under a
checkpoint.
"""

import gin
import numpy as np
import tensorflow as tf

from spreadtf.data import fingerprints
from spreadtf.data import pipeline

__all__ = ['load_npz_images', 'npz_fingerprint', 'digits_fingerprint', 'make_npz_dataset',
           'make_digits_dataset']


def _as_unit_images(images, source):
  """`[N, H, W]` or `[N, H, W, C]`, uint8 (0..255) or float in [0, 1] -> float32 `[N, H, W, C]`.

  Raises:
    ValueError: naming `source`, for a bad rank, channel count (C must be 1 or 3), an empty
      array, NaN/inf values or values out of range.
  """
  images = np.asarray(images)
  shape = images.shape
  if images.ndim == 3:
    images = images[..., None]
  hint = ''
  if images.ndim == 4 and images.shape[-1] not in (1, 3) and images.shape[1] in (1, 3):
    hint = ' (channels first? np.transpose(images, (0, 2, 3, 1)) makes them channels last)'
  if images.ndim != 4 or images.shape[-1] not in (1, 3):
    raise ValueError(f'{source}: images must be [N, H, W] or [N, H, W, C] with C = 1 or 3, got '
                     f'shape {shape}{hint}.')
  if not images.size:
    raise ValueError(f'{source}: the image array is empty (shape {shape}).')
  if images.dtype == bool or not (np.issubdtype(images.dtype, np.integer)
                                  or np.issubdtype(images.dtype, np.floating)):
    raise ValueError(f'{source}: images must be integers 0..255 or floats in [0, 1], got dtype '
                     f'{images.dtype}.')
  if np.issubdtype(images.dtype, np.integer):
    if images.min() < 0 or images.max() > 255:
      raise ValueError(f'{source}: integer images must lie in 0..255, got range '
                       f'[{images.min()}, {images.max()}]; rescale them to 0..255 (uint8) or to '
                       'floats in [0, 1].')
    return images.astype(np.float32) / 255.
  bad = ~np.isfinite(images)
  if bad.any():
    first = np.argwhere(bad)[0]
    raise ValueError(f'{source}: {int(bad.sum())} pixel value(s) are NaN or inf (the first in '
                     f'image {first[0]}, at {tuple(int(i) for i in first[1:])}); fix or drop '
                     'those images before saving.')
  images = images.astype(np.float32)
  if images.min() < 0. or images.max() > 1.:
    raise ValueError(f'{source}: float images must lie in [0, 1], got range '
                     f'[{images.min()}, {images.max()}]; divide 0..255 pixels by 255 (or save '
                     'them as uint8).')
  return images


def load_npz_images(path, key='images'):
  """Reads `key` from an `.npz` file as float32 images `[N, H, W, C]` in [0, 1].

  Raises:
    FileNotFoundError: if `path` does not exist.
    KeyError: if the file has no array `key` (naming the arrays it has).
    ValueError: if it is not an .npz file, or on a bad shape, dtype, value range or NaN/inf.
  """
  if not tf.io.gfile.exists(path):
    raise FileNotFoundError(f'npz file {path!r} does not exist.')
  with tf.io.gfile.GFile(path, 'rb') as f:
    try:
      archive = np.load(f, allow_pickle=False)
    except (ValueError, OSError) as e:
      raise ValueError(f'{path!r} is not a readable .npz file ({e}); write it with '
                       'np.savez(path, images=images).') from e
    if not isinstance(archive, np.lib.npyio.NpzFile):
      raise ValueError(f'{path!r} is a single .npy array, not an .npz file; write it with '
                       'np.savez(path, images=images).')
    with archive:
      if key not in archive:
        raise KeyError(f'npz file {path!r} has no array {key!r} (it has {sorted(archive)}); set '
                       'arrays.make_npz_dataset.key to one of those, or save the images with '
                       'np.savez(path, images=images).')
      return _as_unit_images(archive[key], path)


def _split(images, split, num_test, num_validation, split_seed, configurable):
  return pipeline.split_items(images, split, num_test, num_validation, split_seed, configurable)


def _dataset(images, split, global_batch_size, seed, repeat):
  return pipeline.batch_images(tf.data.Dataset.from_tensor_slices(images), split,
                               global_batch_size, seed, shuffle_buffer=len(images),
                               repeat=repeat)


def _describe_npz(path, num_images):
  return {'source': f'npz file {path!r}', 'sha256': fingerprints.sha256_of_file(path),
          'images': num_images}


def npz_fingerprint(split, *, path, key, num_test, num_validation, split_seed):
  """What `make_npz_dataset(split, ...)` reads (`spreadtf.data.fingerprints`).

  The file's SHA-256 (any changed byte, e.g. images added, replaced or reordered, changes it;
  so does rewriting the same images with another compression) and the split's image count.

  Returns:
    `{'source', 'sha256', 'images'}`.
  """
  images = _split(load_npz_images(path, key), split, num_test, num_validation, split_seed,
                  'arrays.make_npz_dataset')
  return _describe_npz(path, len(images))


def _describe_digits(images):
  return {'source': 'sklearn digits', 'sha256': fingerprints.sha256_of_array(images),
          'images': len(images)}


def _digits(split, num_test, num_validation, split_seed):
  from sklearn import datasets  # pylint: disable=g-import-not-at-top  (slow import, optional)
  images = datasets.load_digits().images.reshape(-1, 8, 8, 1).astype(np.float32) / 16.
  return _split(images, split, num_test, num_validation, split_seed,
                'arrays.make_digits_dataset')


def digits_fingerprint(split, *, num_test, num_validation, split_seed):
  """What `make_digits_dataset(split, ...)` reads: the split's images' SHA-256 and count.

  Returns:
    `{'source', 'sha256', 'images'}`.
  """
  return _describe_digits(_digits(split, num_test, num_validation, split_seed))


@gin.configurable(module='spreadtf.data.arrays')
def make_npz_dataset(split, global_batch_size, seed, path=gin.REQUIRED, key='images',
                     num_test=1000, num_validation=1000, split_seed=123, repeat=True):
  """Images from an `.npz` file (`[N, H, W]` or `[N, H, W, C]`, uint8 or float in [0, 1]).

  The images are permuted once with `split_seed` (`pipeline.split_items`): the last `num_test`
  are 'test', the `num_validation` before them 'validation', the rest 'train' (N - 2,000 with
  the defaults).

  Args:
    split: 'train', 'validation' or 'test'.
    global_batch_size: batch over all replicas.
    seed: shuffle seed.
    path: the `.npz` file.
    key: name of the image array.
    num_test: number of test images.
    num_validation: number of validation images, taken from what is not test.
    split_seed: seed of the fixed permutation.
    repeat: repeat forever (training); False gives the split once (evaluation).

  Returns:
    A `tf.data.Dataset` of `[global_batch_size, H, W, C]` float32.

  Raises:
    ValueError: on a bad split name or bad images, or if `num_test` and `num_validation` leave
      no training image.
  """
  pipeline.check_split(split)  # before reading a possibly large file
  images = _split(load_npz_images(path, key), split, num_test, num_validation, split_seed,
                  'arrays.make_npz_dataset')
  return fingerprints.record(_dataset(images, split, global_batch_size, seed, repeat),
                             _describe_npz, path, len(images))


@gin.configurable(module='spreadtf.data.arrays')
def make_digits_dataset(split, global_batch_size, seed, num_test=297, num_validation=300,
                        split_seed=123, repeat=True):
  """sklearn's 1,797 8x8 digits (offline), scaled from 0..16 to [0, 1], as `[8, 8, 1]` images.

  Split like `make_npz_dataset`: 1,200 train / 300 validation / 297 test with the defaults.

  Args:
    split: 'train', 'validation' or 'test'.
    global_batch_size: batch over all replicas.
    seed: shuffle seed.
    num_test: number of test images.
    num_validation: number of validation images, taken from what is not test.
    split_seed: seed of the fixed permutation.
    repeat: repeat forever (training); False gives the split once (evaluation).

  Returns:
    A `tf.data.Dataset` of `[global_batch_size, 8, 8, 1]` float32.
  """
  images = _digits(split, num_test, num_validation, split_seed)
  return fingerprints.record(_dataset(images, split, global_batch_size, seed, repeat),
                             _describe_digits, images)
