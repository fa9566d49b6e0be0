"""Tests of the `.npz` and sklearn digits loaders."""

import os

from absl.testing import parameterized
import gin
import numpy as np
import tensorflow as tf

from spreadtf.data import arrays


class ArraysTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  def _npz(self, images, key='images'):
    path = os.path.join(self.create_tempdir().full_path, 'data.npz')
    np.savez(path, **{key: images})
    return path

  @parameterized.named_parameters(
      ('uint8_nhw', np.full([10, 6, 6], 255, np.uint8), (6, 6, 1), 1.),
      ('float_nhwc', np.full([10, 6, 6, 3], 0.5, np.float32), (6, 6, 3), 0.5))
  def test_npz_batches(self, images, shape, value):
    path = self._npz(images)
    batch = next(iter(arrays.make_npz_dataset('train', 4, seed=0, path=path, num_test=2)))
    self.assertEqual(batch.shape, (4,) + shape)
    self.assertAllClose(batch, np.full((4,) + shape, value))

  def test_npz_missing_file_names_path(self):
    path = os.path.join(self.create_tempdir().full_path, 'missing.npz')
    with self.assertRaisesRegex(FileNotFoundError, 'missing.npz'):
      arrays.make_npz_dataset('train', 4, seed=0, path=path)

  def test_npz_missing_key(self):
    path = self._npz(np.zeros([4, 2, 2]), key='x')
    with self.assertRaisesRegex(KeyError, 'images'):
      arrays.load_npz_images(path)

  def test_npz_rejects_out_of_range_floats(self):
    path = self._npz(np.full([4, 2, 2], 3., np.float32))
    with self.assertRaisesRegex(ValueError, r'\[0, 1\]'):
      arrays.load_npz_images(path)

  def test_digits(self):
    batch = next(iter(arrays.make_digits_dataset('test', 8, seed=0)))
    self.assertEqual(batch.shape, [8, 8, 8, 1])
    self.assertAllInRange(batch, 0., 1.)


if __name__ == '__main__':
  tf.test.main()
