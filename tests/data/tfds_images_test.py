"""Tests of the TFDS pipelines with `tfds.testing.mock_data` or an empty data_dir (no download)."""

import os

from absl.testing import parameterized
import gin
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from spreadtf.data import fingerprints
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
      for split in ('train', 'validation', 'test'):
        batch = next(iter(tfds_data.make_tfds_dataset(split, 4, seed=0, **config)))
        self.assertEqual(batch.shape, shape)
        self.assertEqual(batch.dtype, tf.float32)
        self.assertAllInRange(batch, 0., 1.)

  @parameterized.named_parameters(
      ('mnist_carves_the_last_5000_of_train', 'mnist', None,
       ('train[:-5000]', 'train[-5000:]', 'test')),
      ('celeb_a_has_its_own', 'celeb_a', None, ('train', 'validation', 'test')),
      ('other_names_use_their_own', 'cifar10', None, ('train', 'validation', 'test')),
      ('num_validation_overrides', 'celeb_a', 7, ('train[:-7]', 'train[-7:]', 'test')))
  def test_tfds_split_strings(self, name, num_validation, expected):
    self.assertEqual(tuple(tfds_data.tfds_split(name, split, num_validation)
                           for split in ('train', 'validation', 'test')), expected)

  @parameterized.named_parameters(('zero', 0), ('negative', -5), ('float', 0.1), ('bool', True))
  def test_bad_num_validation_is_refused(self, num_validation):
    with self.assertRaisesRegex(ValueError, 'num_validation must be None or a positive int'):
      tfds_data.tfds_split('mnist', 'train', num_validation)

  def test_bad_split_lists_the_three(self):
    with self.assertRaisesRegex(ValueError, "'train', 'validation', 'test'"):
      tfds_data.make_tfds_dataset('val', 4, seed=0)

  def test_validation_carved_from_a_prepared_train_split_is_disjoint(self):
    # A real prepared TFDS data set, built offline like mnist (a 'train' and a 'test' split, no
    # 'validation'), so TFDS's own slicing is what is read. Image i is filled with the value i.
    data_dir = self.create_tempdir().full_path

    def images(first, num):
      values = np.arange(first, first + num, dtype=np.uint8)[:, None, None, None]
      return tf.data.Dataset.from_tensor_slices({'image': values * np.ones([num, 4, 4, 1],
                                                                           np.uint8)})

    tfds.dataset_builders.store_as_tfds_dataset(
        name='tiny_images', version='1.0.0', data_dir=data_dir,
        features=tfds.features.FeaturesDict({'image': tfds.features.Image(shape=(4, 4, 1))}),
        split_datasets={'train': images(0, 20), 'test': images(100, 10)})

    def read(split, **config):
      batches = tfds_data.make_tfds_dataset(split, 1, seed=0, name='tiny_images',
                                            data_dir=data_dir, repeat=False, **config)
      return sorted(round(float(batch[0, 0, 0, 0]) * 255.) for batch in batches)

    ids = {split: read(split, num_validation=5) for split in ('train', 'validation', 'test')}
    self.assertEqual({s: len(v) for s, v in ids.items()}, {'train': 15, 'validation': 5,
                                                           'test': 10})
    self.assertEqual(sorted(ids['train'] + ids['validation']), list(range(20)))  # disjoint
    self.assertEqual(ids['test'], list(range(100, 110)))
    # The validation images are the last 5 of TFDS's 'train', as TFDS orders it.
    last = tfds.load('tiny_images', split='train[-5:]', data_dir=data_dir)
    self.assertEqual(ids['validation'], sorted(int(e['image'][0, 0, 0]) for e in last))

    # The fingerprint: name, version, the TFDS split read and its size from the metadata.
    dataset = tfds_data.make_tfds_dataset('train', 1, seed=0, name='tiny_images',
                                          data_dir=data_dir, num_validation=5)
    self.assertEqual(fingerprints.of(dataset), {'source': "TFDS 'tiny_images'",
                                                'version': '1.0.0', 'split': 'train[:-5]',
                                                'examples': 15})

    with self.assertRaisesRegex(ValueError, r"'tiny_images' cannot give the 'validation' split "
                                r".*Unknown split 'validation'.*"
                                r'tfds_images.make_tfds_dataset.num_validation = N'):
      tfds_data.make_tfds_dataset('validation', 1, seed=0, name='tiny_images',
                                  data_dir=data_dir)
    with self.assertRaisesRegex(ValueError, r"as 'train\[-50:\]'.*incompatible.*smaller than"):
      tfds_data.make_tfds_dataset('validation', 1, seed=0, name='tiny_images',
                                  data_dir=data_dir, num_validation=50)

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
