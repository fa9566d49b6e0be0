"""Images from a folder of jpg/png files, e.g. a manually downloaded CelebA `img_align_celeba/`.

The file list is sorted, permuted with Python's `random.seed(123); random.shuffle` and the last
`num_test` files are the test split: for CelebA's `img_align_celeba/` (202,599 files) this is
exactly the authors' test split (20,000 held out, 182,599 for training). The authors' split has no
validation part, so the `num_validation` files before the test files in the same permutation (the
end of the authors' training part) are the validation split and the rest train: 172,599 / 10,000
/ 20,000 with the defaults. Each image gets the same centre crop and resize as the TFDS pipeline
(the authors resized with PIL's Lanczos filter, we with TF's antialiased bilinear one).

Bad files stop the pipeline with an error naming the file (raised when the batch holding it is
read): a file that is not a JPEG/PNG (by its first bytes) or is truncated (no end marker), an
image with another number of channels than `channels` (a grayscale file for an RGB model is an
error, not a silent conversion, unless `convert_channels=True`), an image smaller than
`crop_size`, and, when neither `crop_size` nor `image_size` is set, an image of another size than
the first. Files of other extensions (e.g. `.txt`) are ignored.

`fingerprint` describes what a split reads (for a training run's check that its data did not
change under a checkpoint): the folder's image count, the split's count and a hash of the
split's file names.
"""

import os

import gin
import tensorflow as tf

from spreadtf.data import fingerprints
from spreadtf.data import pipeline

__all__ = ['list_images', 'fingerprint', 'make_folder_dataset']

_PATTERNS = ('*.jpg', '*.jpeg', '*.png', '*.JPG', '*.JPEG', '*.PNG')
_JPEG_START, _JPEG_END = b'\xff\xd8\xff', b'\xff\xd9'
_PNG_START, _PNG_END = b'\x89PNG\r\n\x1a\n', b'IEND'
_CHANNEL_NAMES = {1: 'grayscale', 2: 'grayscale + alpha', 3: 'RGB', 4: 'RGBA'}


def list_images(path):
  """Sorted jpg/png files directly inside `path`.

  Raises:
    FileNotFoundError: if `path` is not a directory.
    ValueError: if it holds no jpg/png file (naming a few of the other files it holds).
  """
  if not tf.io.gfile.isdir(path):
    raise FileNotFoundError(f'image folder {path!r} does not exist or is not a directory; set '
                            'DATA_DIR (folder.make_folder_dataset.path) to the folder that holds '
                            'the .jpg/.png files, e.g. .../img_align_celeba.')
  files = sorted({f for p in _PATTERNS for f in tf.io.gfile.glob(os.path.join(path, p))})
  if not files:
    others = sorted(tf.io.gfile.listdir(path))
    held = (f'it holds {len(others)} other entries, e.g. {others[:3]}' if others
            else 'it is empty')
    raise ValueError(f'image folder {path!r} holds no .jpg/.jpeg/.png file ({held}); set '
                     'DATA_DIR (folder.make_folder_dataset.path) to the folder that holds the '
                     'images themselves (not its parent or an archive).')
  return files


def _describe(path, all_files, files):
  return {'source': f'image folder {path!r}', 'folder_files': len(all_files),
          'files': len(files),
          'file_names_sha256': fingerprints.sha256_of_lines(os.path.basename(f) for f in files)}


def fingerprint(split, *, path, num_test, num_validation, split_seed):
  """What `make_folder_dataset(split, ...)` reads (`spreadtf.data.fingerprints`).

  Adding or removing images changes `folder_files`, `files` and `file_names_sha256` (the split's
  file names); so does renaming one. An image replaced in place by another of the same name is
  not seen (the files' bytes are not read: a 200,000-image folder is listed in seconds, read in
  minutes).

  Args:
    split: 'train', 'validation' or 'test'.
    path: the folder.
    num_test: number of test files.
    num_validation: number of validation files.
    split_seed: seed of the fixed permutation.

  Returns:
    `{'source', 'folder_files', 'files', 'file_names_sha256'}`.
  """
  all_files = list_images(path)
  files = pipeline.split_items(all_files, split, num_test, num_validation, split_seed,
                               'folder.make_folder_dataset')
  return _describe(path, all_files, files)


def _contains(data, pattern):
  """Whether the uint8 vector `data` contains the byte string `pattern` anywhere."""
  length = len(pattern)
  size = tf.shape(data)[0] - length + 1
  found = tf.ones([tf.maximum(size, 0)], tf.bool)
  for i, byte in enumerate(pattern):
    found = tf.logical_and(found, tf.equal(data[i:i + tf.maximum(size, 0)], byte))
  return tf.reduce_any(found)


def _check_file(contents, filename):
  """Asserts `contents` is a whole JPEG or PNG file; the error names `filename`."""
  is_jpeg = tf.equal(tf.strings.substr(contents, 0, len(_JPEG_START)), _JPEG_START)
  is_png = tf.equal(tf.strings.substr(contents, 0, len(_PNG_START)), _PNG_START)
  data = tf.io.decode_raw(contents, tf.uint8)
  whole = tf.cond(is_jpeg, lambda: _contains(data, _JPEG_END), lambda: _contains(data, _PNG_END))
  return [
      tf.debugging.Assert(tf.logical_or(is_jpeg, is_png), [tf.strings.join([
          'image folder: ', filename, ' is not a JPEG or PNG image (its first bytes are no '
          'JPEG/PNG signature); delete it or replace it by the image.'])]),
      tf.debugging.Assert(whole, [tf.strings.join([
          'image folder: ', filename, ' is truncated (no JPEG/PNG end marker: an interrupted '
          'download or copy?); delete it or copy it again.'])])]


def _first_shape(filename):
  """`[height, width]` of the image in `filename`, decoded now."""
  try:
    image = tf.io.decode_image(tf.io.read_file(filename), expand_animations=False)
  except tf.errors.InvalidArgumentError as e:
    raise ValueError(f'image folder: {filename} is not a readable JPEG or PNG image ({e.message}); '
                     'delete it or replace it by the image.') from e
  return [int(d) for d in image.shape[:2]]


@gin.configurable(module='spreadtf.data.folder')
def make_folder_dataset(split, global_batch_size, seed, path=gin.REQUIRED, crop_size=140,
                        image_size=64, channels=3, convert_channels=False, num_test=20000,
                        num_validation=10000, split_seed=123, shuffle_buffer=10000,
                        repeat=True):
  """Loads a folder of images as float32 images in [0, 1].

  Args:
    split: 'train', 'validation' or 'test' (see the module docstring).
    global_batch_size: batch over all replicas.
    seed: shuffle seed.
    path: the folder.
    crop_size: side of the central crop, or None.
    image_size: output side, or None (then all images must share one size after cropping).
    channels: channels the model expects (3 RGB, 1 grayscale).
    convert_channels: False: an image with another channel count is an error naming it. True:
      convert it (TF's decode conversion: grayscale copied to R, G and B, RGB to luminance,
      alpha dropped).
    num_test: number of test files (the authors' CelebA split: 20,000).
    num_validation: number of validation files, from the end of the authors' training part
      (10,000: the size of the FD / KID sample sets in docs/delta_vae.md's CelebA commands, so
      validation can score them at the test's sample size; 5% of the authors' training part).
    split_seed: seed of the fixed permutation.
    shuffle_buffer: shuffle buffer in file names.
    repeat: repeat forever (training); False gives the split once (evaluation).

  Returns:
    A `tf.data.Dataset` of `[global_batch_size, height, width, channels]` float32. Iterating
    raises `tf.errors.InvalidArgumentError` naming the first bad file it meets (see the module
    docstring).

  Raises:
    FileNotFoundError: if the folder is missing.
    ValueError: on a bad split name, if it holds no image, `num_test` and `num_validation` do not
      fit, `channels` is not 1 to 4, or (without crop and resize) the first image cannot be read.
  """
  pipeline.check_split(split)
  if channels not in _CHANNEL_NAMES:
    raise ValueError(f'channels must be one of {sorted(_CHANNEL_NAMES)}, got {channels!r}.')
  all_files = list_images(path)
  files = pipeline.split_items(all_files, split, num_test, num_validation, split_seed,
                               'folder.make_folder_dataset')
  # Without crop and resize every image must have the size of the first (sorted) file.
  reference = _first_shape(all_files[0]) if crop_size is None and image_size is None else None
  dataset = tf.data.Dataset.from_tensor_slices(files)
  if split == 'train':  # Shuffle names (cheap) before decoding; batch_images shuffles again.
    dataset = dataset.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)

  def load(filename):
    contents = tf.io.read_file(filename)
    with tf.control_dependencies(_check_file(contents, filename)):
      image = tf.io.decode_image(contents, channels=channels if convert_channels else 0,
                                 expand_animations=False)
    shape = tf.shape(image)
    checks = [tf.debugging.Assert(tf.equal(shape[-1], channels), [tf.strings.join([
        'image folder: ', filename, ' has ', tf.strings.as_string(shape[-1]),
        f' channel(s) but channels={channels} ({_CHANNEL_NAMES[channels]}, as the model '
        'expects); for a grayscale model set channels=1 and IMAGE_SHAPE = (h, w, 1), or set '
        'folder.make_folder_dataset.convert_channels = True to convert.'])])]
    if crop_size is not None:
      checks.append(tf.debugging.Assert(tf.reduce_all(shape[:2] >= crop_size), [
          tf.strings.join(['image folder: ', filename, ' is ',
                           tf.strings.reduce_join(tf.strings.as_string(shape[:2]), separator='x'),
                           f' pixels, smaller than crop_size={crop_size}; lower crop_size or '
                           'remove the image.'])]))
    elif reference is not None:
      checks.append(tf.debugging.Assert(tf.reduce_all(tf.equal(shape[:2], reference)), [
          tf.strings.join(['image folder: ', filename, ' is ',
                           tf.strings.reduce_join(tf.strings.as_string(shape[:2]), separator='x'),
                           f' pixels but {all_files[0]} is {reference[0]}x{reference[1]}; with '
                           'image_size=None all images must have one size: set '
                           'folder.make_folder_dataset.image_size (and crop_size) to resize.'])]))
    with tf.control_dependencies(checks):
      image = tf.ensure_shape(tf.identity(image), [None, None, channels])
    return pipeline.center_crop_and_resize(pipeline.to_unit_float(image), crop_size, image_size)

  dataset = dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE)
  dataset = pipeline.batch_images(dataset, split, global_batch_size, seed,
                                  min(shuffle_buffer, len(files)), repeat=repeat)
  return fingerprints.record(dataset, _describe, path, all_files, files)
