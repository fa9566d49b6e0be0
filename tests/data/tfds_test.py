"""Tests of the TFDS pipelines with `tfds.testing.mock_data` (never a real download)."""

from absl.testing import parameterized
import gin
import tensorflow as tf
import tensorflow_datasets as tfds

from spreadtf.data import tfds as tfds_data


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


if __name__ == '__main__':
  tf.test.main()
