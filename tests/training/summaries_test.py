"""Tests of the TensorBoard helpers: image grids and the low-rank eigenvector diagnostic."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from spreadtf.spreads import lowrank
from spreadtf.training import summaries


class SummariesTest(tf.test.TestCase, parameterized.TestCase):

  def test_image_grid_tiles_row_by_row_and_pads_the_last_row(self):
    images = tf.reshape(tf.range(5, dtype=tf.float32) + 1., [5, 1, 1, 1]) * tf.ones([5, 2, 3, 1])
    grid = summaries.image_grid(images)  # 2 columns, 3 rows, one black tile.
    self.assertEqual(grid.shape, [6, 6, 1])
    self.assertAllEqual(grid[::2, ::3, 0], [[1., 2.], [3., 4.], [5., 0.]])

  def test_eigenvector_images_are_absolute_leading_directions(self):
    kernel = lowrank.LowRankGaussianSpread(0.1, rank=3, event_size=12, seed=0)
    images = summaries.eigenvector_images(kernel, (2, 3, 2), 2)
    self.assertEqual(images.shape, [3, 2, 3, 2])
    left = np.linalg.svd(kernel.factor().numpy(), full_matrices=False)[0][:, :2]
    expected = np.abs(left.T).reshape([2, 2, 3, 2])
    expected = np.concatenate([expected, expected.mean(axis=0, keepdims=True)])
    expected /= expected.reshape([3, -1]).max(axis=1)[:, None, None, None]
    self.assertAllClose(images, expected, atol=1e-5)

  def test_to_png_round_trips(self):
    grid = tf.constant([[[0.], [1.]], [[0.5], [0.25]]])
    pixels = tf.io.decode_png(summaries.to_png(grid))
    self.assertAllEqual(pixels[..., 0], [[0, 255], [128, 64]])


if __name__ == '__main__':
  tf.test.main()
