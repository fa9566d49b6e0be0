"""TFDS image datasets: `mnist` (28x28x1) and `celeb_a` (centre crop 140, resized to 64x64x3).

Real `tfds.load` downloads when the data is not in `data_dir` (tests use
`tfds.testing.mock_data`). For CelebA without TFDS's Google Drive download, see `folder.py`.
"""

import gin
import tensorflow as tf
import tensorflow_datasets as tfds

from spreadtf.data import pipeline

__all__ = ['make_tfds_dataset']


@gin.configurable(module='spreadtf.data.tfds')
def make_tfds_dataset(split, global_batch_size, seed, name='mnist', data_dir=None,
                      crop_size=None, image_size=None, shuffle_buffer=10000, download=True,
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
    download: let TFDS download and prepare missing data.
    repeat: repeat forever (training); False gives the split once (evaluation).

  Returns:
    A `tf.data.Dataset` of `[global_batch_size, height, width, channels]` float32.
  """
  pipeline.check_split(split)
  dataset = tfds.load(name, split=split, data_dir=data_dir, shuffle_files=split == 'train',
                      download=download, read_config=tfds.ReadConfig(shuffle_seed=seed))

  def preprocess(features):
    image = pipeline.to_unit_float(features['image'])
    if crop_size is None and image_size is None:
      return image
    return pipeline.center_crop_and_resize(image, crop_size, image_size)

  dataset = dataset.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
  return pipeline.batch_images(dataset, split, global_batch_size, seed, shuffle_buffer,
                               repeat=repeat)
