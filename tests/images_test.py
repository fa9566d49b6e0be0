"""Tests of the TF-only image grid and PNG encoding."""

from absl.testing import parameterized
import tensorflow as tf

from spreadtf import images


class ImagesTest(tf.test.TestCase, parameterized.TestCase):

  def test_image_grid_tiles_row_by_row_and_pads_the_last_row(self):
    tiles = tf.reshape(tf.range(5, dtype=tf.float32) + 1., [5, 1, 1, 1]) * tf.ones([5, 2, 3, 1])
    grid = images.image_grid(tiles)  # 2 columns, 3 rows, one black tile.
    self.assertEqual(grid.shape, [6, 6, 1])
    self.assertAllEqual(grid[::2, ::3, 0], [[1., 2.], [3., 4.], [5., 0.]])

  def test_image_grid_takes_explicit_columns_and_keeps_dtype(self):
    tiles = tf.ones([4, 2, 2, 3], tf.uint8)
    grid = images.image_grid(tiles, columns=4)
    self.assertEqual(grid.shape, [2, 8, 3])
    self.assertEqual(grid.dtype, tf.uint8)

  def test_to_png_clips_rounds_and_round_trips(self):
    grid = tf.constant([[[-1.], [1.]], [[0.5], [2.]]])
    pixels = tf.io.decode_png(images.to_png(grid))
    self.assertAllEqual(pixels[..., 0], [[0, 255], [128, 255]])


if __name__ == '__main__':
  tf.test.main()
