"""Tests of the calibration defects: closed forms on single pixels, statistics, errors."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from spreadtf.evaluation import degradations


def _dot(size=9, row=4, col=4, num=1):
  """`num` images `[size, size, 1]`, black but one white pixel."""
  images = np.zeros((num, size, size, 1), np.float32)
  images[:, row, col] = 1.
  return images


class BlurTest(tf.test.TestCase, parameterized.TestCase):

  def test_box_blur_spreads_a_pixel_over_its_window(self):
    blurred = degradations.box_blur(_dot(), 3)
    expected = np.zeros((1, 9, 9, 1), np.float32)
    expected[:, 3:6, 3:6] = 1. / 9.
    self.assertAllClose(blurred, expected, atol=1e-7)

  def test_gaussian_blur_keeps_the_mass_and_has_the_given_spread(self):
    blurred = degradations.gaussian_blur(_dot(size=21, row=10, col=10), 1.5)[0, :, :, 0]
    self.assertAllClose(blurred.sum(), 1., atol=1e-5)   # far from the border: nothing lost
    rows = np.arange(21) - 10.
    # Second moment along one axis = sigma^2 (the kernel is truncated at 4 sigma: 1e-4 relative).
    self.assertAllClose(np.sum(blurred.sum(axis=1) * rows**2), 1.5**2, rtol=1e-3)

  def test_blur_lowers_the_sharpness_of_digits_and_stays_in_range(self):
    images = np.random.RandomState(0).uniform(size=(3, 12, 12, 1)).astype(np.float32)
    for blurred in (degradations.gaussian_blur(images, 1.), degradations.box_blur(images, 5)):
      self.assertEqual(blurred.shape, images.shape)
      self.assertBetween(float(blurred.min()), 0., 1.)
      self.assertBetween(float(blurred.max()), 0., 1.)
      self.assertLess(np.var(np.diff(blurred, axis=1)), np.var(np.diff(images, axis=1)))

  @parameterized.named_parameters(('sigma_zero', 'gaussian', 0.), ('even_box', 'box', 4),
                                  ('box_one', 'box', 1))
  def test_bad_blur_is_refused(self, kind, value):
    blur = degradations.gaussian_blur if kind == 'gaussian' else degradations.box_blur
    with self.assertRaisesRegex(ValueError, 'must be'):
      blur(_dot(), value)


class NoiseTest(tf.test.TestCase):

  def test_noise_has_the_given_scale_and_is_clipped(self):
    images = np.full((50, 20, 20, 1), 0.5, np.float32)
    noisy = degradations.add_noise(images, 0.1, seed=0)
    # 20,000 draws: the std's standard error is 0.1 / sqrt(2 * 20,000) = 5e-4 (clipping at
    # 5 sigma changes nothing).
    self.assertAllClose(np.std(noisy - images), 0.1, atol=2e-3)
    self.assertAllClose(np.mean(noisy - images), 0., atol=2e-3)
    clipped = degradations.add_noise(np.zeros_like(images), 0.5, seed=0)
    self.assertEqual(float(clipped.min()), 0.)
    self.assertAllClose(np.mean(clipped == 0.), 0.5, atol=0.02)   # half the draws are negative
    self.assertAllEqual(degradations.add_noise(images, 0.1, seed=0), noisy)
    with self.assertRaisesRegex(ValueError, 'scale must be > 0'):
      degradations.add_noise(images, 0., seed=0)


class ShiftTest(tf.test.TestCase):

  def test_each_image_moves_its_pixel_in_one_of_four_directions(self):
    shifted = degradations.shift(_dot(num=400), 2, seed=0)
    positions = [tuple(np.argwhere(image[:, :, 0])[0]) for image in shifted]
    self.assertEqual(set(positions), {(6, 4), (2, 4), (4, 6), (4, 2)})
    counts = np.array([positions.count(p) for p in set(positions)])
    # 400 draws of a uniform choice among 4: each count is 100 +- 8.7 (binomial std).
    self.assertAllInRange(counts, 70, 130)
    self.assertAllEqual(shifted.sum(axis=(1, 2, 3)), np.ones(400))

  def test_pixels_that_leave_the_image_are_lost_not_wrapped(self):
    shifted = degradations.shift(_dot(row=0, col=0, num=40), 1, seed=1)
    sums = shifted.sum(axis=(1, 2, 3))
    self.assertAllInSet(sums, [0., 1.])
    self.assertIn(0., sums)                     # moved up or left: gone
    self.assertEqual(shifted[:, -1].sum(), 0.)  # never wrapped to the far edge
    self.assertEqual(shifted[:, :, -1].sum(), 0.)

  def test_bad_shift_is_refused(self):
    with self.assertRaisesRegex(ValueError, r'pixels must lie in \[1, 9\)'):
      degradations.shift(_dot(), 9, seed=0)


class KeepClassesTest(tf.test.TestCase):

  def test_keeps_the_named_classes_in_order(self):
    images = np.arange(6, dtype=np.float32).reshape(6, 1, 1, 1) / 6.
    kept = degradations.keep_classes(images, [0, 5, 1, 7, 4, 2], range(5))
    self.assertAllClose(kept[:, 0, 0, 0], np.array([0., 2., 4., 5.]) / 6.)
    with self.assertRaisesRegex(ValueError, 'no image has a label'):
      degradations.keep_classes(images, [9] * 6, range(5))
    with self.assertRaisesRegex(ValueError, r'labels must be \[num\] = \[6\]'):
      degradations.keep_classes(images, [0, 1], range(5))

  def test_another_rank_is_refused(self):
    with self.assertRaisesRegex(ValueError, r'\[num, height, width, channels\]'):
      degradations.box_blur(np.zeros((4, 4)), 3)


if __name__ == '__main__':
  tf.test.main()
