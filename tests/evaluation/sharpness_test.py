"""Tests of the Laplacian-variance sharpness measure."""

import numpy as np
from scipy import ndimage
import tensorflow as tf

from spreadtf.evaluation import sharpness


class SharpnessTest(tf.test.TestCase):

  def test_laplacian_of_a_single_bright_pixel(self):
    image = np.zeros([1, 5, 5, 1])
    image[0, 2, 2, 0] = 1.
    expected = np.array([[0., 1., 0.], [1., -4., 1.], [0., 1., 0.]])
    self.assertAllEqual(sharpness.laplacian(image)[0, :, :, 0], expected)
    # Variance over the 9 interior pixels: mean 0, mean square (16 + 4) / 9.
    self.assertAllClose(sharpness.laplacian_variance(image), 20. / 9.)

  def test_matches_scipy_laplace_on_the_interior(self):
    images = np.random.RandomState(0).uniform(size=(3, 9, 7, 2))
    expected = np.stack([np.stack([ndimage.laplace(images[n, :, :, c])[1:-1, 1:-1]
                                   for c in range(2)], -1) for n in range(3)])
    self.assertAllClose(sharpness.laplacian(images), expected)

  def test_constant_and_linear_images_have_none(self):
    ramp = np.tile(np.linspace(0., 1., 8)[None, :, None, None], [2, 1, 8, 1])
    self.assertAllClose(sharpness.laplacian_variance(ramp), 0.)
    self.assertAllClose(sharpness.laplacian_variance(np.full([2, 6, 6, 3], 0.7)), 0.)

  def test_blurring_lowers_it(self):
    images = (np.random.RandomState(1).uniform(size=(4, 28, 28, 1)) > 0.8).astype(np.float64)
    blurred = ndimage.uniform_filter(images, size=(1, 3, 3, 1))
    self.assertLess(sharpness.laplacian_variance(blurred),
                    0.25 * sharpness.laplacian_variance(images))

  def test_rejects_images_too_small_or_of_another_rank(self):
    with self.assertRaisesRegex(ValueError, 'height >= 3'):
      sharpness.laplacian_variance(np.zeros([2, 2, 5, 1]))
    with self.assertRaisesRegex(ValueError, 'height >= 3'):
      sharpness.laplacian_variance(np.zeros([5, 5, 1]))


if __name__ == '__main__':
  tf.test.main()
