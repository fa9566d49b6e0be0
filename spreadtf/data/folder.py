"""Images from a folder of jpg/png files, e.g. a manually downloaded CelebA `img_align_celeba/`.

The file list is sorted, permuted with Python's `random.seed(123); random.shuffle` and the last
`num_test` files are held out: for CelebA's `img_align_celeba/` (202,599 files) this is exactly
the authors' split (20,000 held out, 182,599 for training). Each image gets the same centre crop
and resize as the TFDS pipeline (the authors resized with PIL's Lanczos filter, we with TF's
antialiased bilinear one).
"""

import os

import gin
import tensorflow as tf

from spreadtf.data import pipeline

__all__ = ['list_images', 'make_folder_dataset']

_PATTERNS = ('*.jpg', '*.jpeg', '*.png', '*.JPG', '*.JPEG', '*.PNG')


def list_images(path):
  """Sorted jpg/png files directly inside `path`.

  Raises:
    FileNotFoundError: if `path` is not a directory.
    ValueError: if it holds no jpg/png file.
  """
  if not tf.io.gfile.isdir(path):
    raise FileNotFoundError(f'image folder {path!r} does not exist or is not a directory.')
  files = sorted({f for p in _PATTERNS for f in tf.io.gfile.glob(os.path.join(path, p))})
  if not files:
    raise ValueError(f'image folder {path!r} holds no .jpg/.jpeg/.png file.')
  return files


@gin.configurable(module='spreadtf.data.folder')
def make_folder_dataset(split, global_batch_size, seed, path=gin.REQUIRED, crop_size=140,
                        image_size=64, channels=3, num_test=20000, split_seed=123,
                        shuffle_buffer=10000, repeat=True):
  """Loads a folder of images as float32 images in [0, 1].

  Args:
    split: 'train' or 'test'.
    global_batch_size: batch over all replicas.
    seed: shuffle seed.
    path: the folder.
    crop_size: side of the central crop, or None.
    image_size: output side, or None (then all images must share one size).
    channels: decoded channels (3 RGB, 1 grey).
    num_test: number of held-out files.
    split_seed: seed of the fixed train/test permutation.
    shuffle_buffer: shuffle buffer in file names.
    repeat: repeat forever (training); False gives the split once (evaluation).

  Returns:
    A `tf.data.Dataset` of `[global_batch_size, height, width, channels]` float32.

  Raises:
    FileNotFoundError: if the folder is missing.
    ValueError: if it is empty or `num_test` does not fit.
  """
  files = pipeline.split_items(list_images(path), split, num_test, split_seed)
  dataset = tf.data.Dataset.from_tensor_slices(files)
  if split == 'train':  # Shuffle names (cheap) before decoding; batch_images shuffles again.
    dataset = dataset.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)

  def load(filename):
    image = tf.io.decode_image(tf.io.read_file(filename), channels=channels,
                               expand_animations=False)
    return pipeline.center_crop_and_resize(pipeline.to_unit_float(image), crop_size, image_size)

  dataset = dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE)
  return pipeline.batch_images(dataset, split, global_batch_size, seed,
                               min(shuffle_buffer, len(files)), repeat=repeat)
