"""Tests of the TFDS pipelines with `tfds.testing.mock_data` or an empty data_dir (no download)."""

import os

from absl.testing import parameterized
import gin
import tensorflow as tf
import tensorflow_datasets as tfds

from spreadtf.data import tfds_images as tfds_data


class TfdsTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  @parameterized.named_parameters(
      ('mnist', dict(name='mnist'), [4, 28, 28, 1]),
      ('celeb_a', dict(name='celeb_a', crop_size=140, image_size=64), [4, 64, 64, 3]))
  def test_mocked_dataset(self, config, shape):
    with tfds.testing.mock_data(num_examples=8):
      for split in ('train', 'test'):
        batch = next(iter(tfds_data.make_tfds_dataset(split, 4, seed=0, **config)))
        self.assertEqual(batch.shape, shape)
        self.assertEqual(batch.dtype, tf.float32)
        self.assertAllInRange(batch, 0., 1.)

  def test_celeb_a_images_are_the_centre_crop_of_the_tfds_images(self):
    with tfds.testing.mock_data(num_examples=4):
      raw = next(iter(tfds.load('celeb_a', split='test').batch(4)))['image']
      batch = next(iter(tfds_data.make_tfds_dataset('test', 4, seed=0, name='celeb_a',
                                                    crop_size=140, image_size=64)))
    self.assertEqual(raw.shape[1:], [218, 178, 3])
    expected = tf.image.resize(tf.cast(raw[:, 39:179, 19:159], tf.float32) / 255., [64, 64],
                               antialias=True)
    self.assertAllClose(batch, expected, atol=1e-5)  # The test split is read in order.

  @parameterized.named_parameters(('mnist', 'mnist'), ('celeb_a', 'celeb_a'))
  def test_data_set_not_downloaded_names_offline_alternatives(self, name):
    data_dir = self.create_tempdir().full_path   # empty: nothing prepared, and no download
    with self.assertRaises(FileNotFoundError) as raised:
      tfds_data.make_tfds_dataset('train', 4, seed=0, name=name, data_dir=data_dir)
    message = str(raised.exception)
    for part in (f'{name!r} is not downloaded', data_dir, 'download = True', 'data/mnist5k.gin',
                 'data/celeba_folder.gin', 'arrays.make_npz_dataset'):
      self.assertIn(part, message)
    self.assertEmpty(os.listdir(data_dir))


if __name__ == '__main__':
  tf.test.main()
