"""Tests of the in-memory fake images."""

from absl.testing import parameterized
import gin
import numpy as np
import tensorflow as tf

from spreadtf.data import fake
from spreadtf.data import fingerprints


class FakeTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  def test_fake_splits_share_manifold_but_no_image(self):
    images = {split: fake.make_images(8, (6, 6, 1), split=split)
              for split in ('train', 'validation', 'test')}
    for split, split_images in images.items():
      self.assertAllClose(split_images, fake.make_images(8, (6, 6, 1), split=split))
      self.assertAllInRange(split_images, 0., 1.)
    # Disjoint: the least distance between images of two splits is far above float round-off.
    for first, second in (('train', 'validation'), ('train', 'test'), ('validation', 'test')):
      distances = np.abs(images[first][:, None] - images[second][None]).max(axis=(2, 3, 4))
      self.assertGreater(distances.min(), 1e-3, (first, second))

  def test_fingerprint_is_the_parameters(self):
    dataset = fake.make_fake_dataset('train', 4, seed=0, image_shape=(6, 6, 1), num_examples=8)
    self.assertEqual(fingerprints.of(dataset), {'source': 'fake images', 'image_shape': [6, 6, 1],
                                                'num_examples': 8, 'content_seed': 0})

  def test_bad_split_lists_the_three(self):
    with self.assertRaisesRegex(ValueError, "'train', 'validation', 'test'"):
      fake.make_fake_dataset('eval', 4, seed=0)

  @parameterized.named_parameters(('train', 'train'), ('validation', 'validation'),
                                  ('test', 'test'))
  def test_dataset_batches(self, split):
    batches = list(fake.make_fake_dataset(split, 4, seed=0, image_shape=(6, 6, 1),
                                          num_examples=8, repeat=False))
    self.assertLen(batches, 2)   # num_examples images per split
    self.assertEqual(batches[0].shape, [4, 6, 6, 1])
    self.assertEqual(batches[0].dtype, tf.float32)


if __name__ == '__main__':
  tf.test.main()
