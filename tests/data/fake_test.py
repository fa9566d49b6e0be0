"""Tests of the in-memory fake images."""

from absl.testing import parameterized
import gin
import tensorflow as tf

from spreadtf.data import fake


class FakeTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  def test_fake_splits_share_manifold_but_differ(self):
    train = fake.make_images(4, (6, 6, 1), split='train')
    test = fake.make_images(4, (6, 6, 1), split='test')
    self.assertNotAllClose(train, test)
    self.assertAllClose(train, fake.make_images(4, (6, 6, 1), split='train'))
    self.assertAllInRange(train, 0., 1.)

  def test_dataset_batches(self):
    batch = next(iter(fake.make_fake_dataset('train', 4, seed=0, image_shape=(6, 6, 1))))
    self.assertEqual(batch.shape, [4, 6, 6, 1])
    self.assertEqual(batch.dtype, tf.float32)


if __name__ == '__main__':
  tf.test.main()
