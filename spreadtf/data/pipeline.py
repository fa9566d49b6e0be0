"""Steps shared by every image pipeline: scaling, the CelebA crop, the three splits, batching."""

import random

import numpy as np
import tensorflow as tf

__all__ = ['SPLITS', 'check_split', 'to_unit_float', 'center_crop_and_resize', 'split_items',
           'batch_images', 'check_image_shape']

# Every data source yields these three disjoint splits: 'train' to fit, 'validation' to select
# (early stopping, the best checkpoint, the spread probe batch), 'test' for the reported numbers.
SPLITS = ('train', 'validation', 'test')


def check_split(split):
  """Raises ValueError, listing the splits, unless `split` is one of `SPLITS`."""
  if split not in SPLITS:
    raise ValueError(f"split must be one of {SPLITS} ('train' to fit, 'validation' to select "
                     f"runs and checkpoints, 'test' for the reported numbers), got {split!r}.")


def to_unit_float(image):
  """Scales an image to float32 in [0, 1]: integer images are divided by 255, floats are kept.

  Args:
    image: `[..., height, width, channels]` uint8 or float tensor.

  Returns:
    float32 tensor of the same shape.
  """
  if image.dtype.is_integer:
    return tf.cast(image, tf.float32) / 255.
  return tf.cast(image, tf.float32)


def center_crop_and_resize(image, crop_size, image_size):
  """Crops the central `crop_size` square and resizes it to `image_size` (antialiased bilinear).

  CelebA "closecrop" (the paper's CelebA setup): 178x218 -> centre 140x140 -> 64x64.

  Args:
    image: `[height, width, channels]` float tensor.
    crop_size: side of the central square, or None to keep the whole image.
    image_size: output side, or None to skip resizing.

  Returns:
    `[image_size, image_size, channels]` float32 tensor.
  """
  if crop_size is not None:
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    image = tf.image.crop_to_bounding_box(image, (height - crop_size) // 2,
                                          (width - crop_size) // 2, crop_size, crop_size)
  if image_size is not None:
    image = tf.image.resize(image, [image_size, image_size], antialias=True)
  return tf.clip_by_value(image, 0., 1.)


def split_items(items, split, num_test, num_validation, split_seed=123, configurable=None):
  """Deterministically shuffles `items` and holds out the last ones as validation and test.

  The permutation is Python's `random.seed(split_seed); random.shuffle(...)`, exactly as the
  authors' CelebA code split the 202,599 sorted file names `000001.jpg`...`202599.jpg` (the
  permutation depends only on the number of items and the seed, not on their values). Of the
  permuted items, the last `num_test` are 'test' (the authors' held-out part), the
  `num_validation` before them 'validation' (the end of the authors' training part) and the rest
  'train'. Each split keeps the items' original order.

  Args:
    items: a NumPy array (split along axis 0) or a list, e.g. of file names.
    split: 'train', 'validation' or 'test'.
    num_test: number of test items, at least 1.
    num_validation: number of validation items, at least 1.
    split_seed: seed of the fixed permutation (the authors' code used 123).
    configurable: the gin name of the calling factory (e.g. 'arrays.make_npz_dataset'), named in
      the error.

  Returns:
    The items of `split`, same type as `items`.

  Raises:
    ValueError: on a bad split name, or if `num_test` or `num_validation` is below 1 or together
      they leave no training item.
  """
  check_split(split)
  num = len(items)
  if num_test < 1 or num_validation < 1 or num_test + num_validation >= num:
    where = (f'{configurable}.num_test and {configurable}.num_validation' if configurable
             else "the data factory's num_test and num_validation")
    raise ValueError(f'num_test={num_test} and num_validation={num_validation} must each be at '
                     f'least 1 and leave at least one training item of the {num}; set {where} '
                     'to fit.')
  order = list(range(num))
  random.Random(split_seed).shuffle(order)
  order = np.asarray(order)
  first = {'train': 0, 'validation': num - num_test - num_validation, 'test': num - num_test}
  last = {'train': num - num_test - num_validation, 'validation': num - num_test, 'test': num}
  chosen = np.sort(order[first[split]:last[split]])
  if isinstance(items, np.ndarray):
    return items[chosen]
  return [items[i] for i in chosen]


def batch_images(dataset, split, global_batch_size, seed, shuffle_buffer=10000, repeat=True):
  """Shuffles (train only, seeded), repeats, batches by the global batch and prefetches.

  Args:
    dataset: a `tf.data.Dataset` of float32 images `[height, width, channels]`.
    split: 'train' (shuffled), 'validation' or 'test' (in order).
    global_batch_size: batch over all replicas; the last partial batch is dropped.
    seed: shuffle seed.
    shuffle_buffer: shuffle buffer size in examples.
    repeat: repeat forever (the loop counts steps, not epochs).

  Returns:
    A `tf.data.Dataset` of `[global_batch_size, height, width, channels]` float32.
  """
  check_split(split)
  if split == 'train':
    dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
  if repeat:
    dataset = dataset.repeat()
  dataset = dataset.batch(global_batch_size, drop_remainder=True)
  options = tf.data.Options()
  options.deterministic = True
  return dataset.with_options(options).prefetch(tf.data.AUTOTUNE)


def _shape_message(data_shape, image_shape):
  return (f'the data images are {data_shape} but the model is built for IMAGE_SHAPE = '
          f'{image_shape}: set the gin macro IMAGE_SHAPE to the shape of the data (e.g. '
          f"--gin_bindings='IMAGE_SHAPE = {data_shape}'), or make the data fit the model "
          '(crop_size, image_size and channels of the data factory, e.g. '
          'folder.make_folder_dataset.image_size).')


def check_image_shape(dataset, image_shape):
  """Checks that a dataset's images have the shape the model is built for.

  The training root builds its model from the gin macro IMAGE_SHAPE and its data from another gin
  layer; a mismatch would otherwise fail deep inside the first train step. Dimensions known when
  the pipeline is built (every spreadtf factory with a fixed image size) are checked now; any
  dimension only known at run time (e.g. a folder with `image_size=None`) is checked on every
  batch.

  Args:
    dataset: a `tf.data.Dataset` of image batches `[batch, height, width, channels]`.
    image_shape: `(height, width, channels)` the model expects.

  Returns:
    `dataset` itself when its static shape matches, else `dataset` with a per-batch check whose
    failure (`tf.errors.InvalidArgumentError`) names both shapes.

  Raises:
    ValueError: naming both shapes and the IMAGE_SHAPE macro, if the static shape differs.
    TypeError: if the dataset's elements are not single tensors.
  """
  expected = tuple(int(d) for d in image_shape)
  spec = dataset.element_spec
  if not isinstance(spec, tf.TensorSpec):
    raise TypeError(f'check_image_shape needs a dataset of image batches, got elements {spec}.')
  shape = spec.shape[1:]
  if shape.rank != len(expected) or not shape.is_compatible_with(expected):
    data_shape = tuple(shape.as_list()) if shape.rank is not None else shape
    raise ValueError(_shape_message(data_shape, expected))
  if shape.is_fully_defined():
    return dataset

  def check(images):
    actual = tf.shape(images)[1:]
    message = tf.strings.join([
        'the data images are (', tf.strings.reduce_join(tf.strings.as_string(actual),
                                                          separator=', '),
        ') but the model is built for IMAGE_SHAPE = ' + str(expected) + ': set the gin macro '
        'IMAGE_SHAPE to the shape of the data, or make the data fit the model (crop_size, '
        'image_size and channels of the data factory).'])
    with tf.control_dependencies([tf.debugging.Assert(tf.reduce_all(tf.equal(actual, expected)),
                                                      [message])]):
      return tf.ensure_shape(tf.identity(images), [None, *expected])

  return dataset.map(check)
