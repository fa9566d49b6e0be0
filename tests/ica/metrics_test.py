"""Tests for spreadtf.ica.metrics."""

from absl.testing import parameterized
import gin
import numpy as np
import tensorflow as tf

from spreadtf.ica import metrics


def _signed_permutation(a, rng, scale=False):
  z_dim = a.shape[1]
  factors = rng.choice([-1., 1.], size=z_dim)
  if scale:
    factors = factors * rng.uniform(0.2, 5., size=z_dim)
  return a[:, rng.permutation(z_dim)] * factors


class MetricsTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)
    self.rng = np.random.default_rng(0)
    self.a_true = self.rng.choice([-1., 1.], size=(8, 4))

  def test_relative_error_is_zero_for_permuted_sign_flipped_copy(self):
    a_est = _signed_permutation(self.a_true, self.rng)
    self.assertAllClose(metrics.match_columns(self.a_true, a_est), self.a_true)
    self.assertAlmostEqual(metrics.relative_error(self.a_true, a_est), 0.)

  def test_relative_error_counts_scale_but_rescaled_does_not(self):
    a_est = _signed_permutation(self.a_true, self.rng, scale=True)
    self.assertGreater(metrics.relative_error(self.a_true, a_est), 0.1)
    self.assertAlmostEqual(metrics.relative_error_rescaled(self.a_true, a_est), 0., places=10)

  def test_relative_error_of_hand_made_estimate(self):
    a_true = np.array([[1., 2.],
                       [2., -1.],
                       [-1., 1.]])
    # Matched estimate: three entries off, by 0.1 (|A_true| = 1), -0.4 (|A_true| = 2) and
    # -0.2 (|A_true| = 1): relative errors 0.1, 0.2, 0.2 and 0 elsewhere, so the mean over the
    # 6 entries is 0.5 / 6 = 1 / 12.
    matched = np.array([[1.1, 1.6],
                        [2., -1.2],
                        [-1., 1.]])
    # Stored with the columns swapped and the (new) first column negated.
    a_est = np.stack([-matched[:, 1], matched[:, 0]], axis=1)
    self.assertAllClose(metrics.match_columns(a_true, a_est), matched, rtol=0., atol=1e-15)
    self.assertAlmostEqual(metrics.relative_error(a_true, a_est), 1. / 12., places=14)

  @parameterized.named_parameters(
      # P = pinv(A_est) A_true = [[1, 0.5], [-4, 1]]: row terms 1.5 / 1 - 1 = 0.5 and
      # 5 / 4 - 1 = 0.25, column terms 5 / 4 - 1 = 0.25 and 1.5 / 1 - 1 = 0.5; sum 1.5 over
      # 2 Z (Z - 1) = 4 gives 0.375. A_est = A_true P^-1 = A_true [[1, -0.5], [4, 1]] / 3.
      ('two_sources', [[1., 1.], [1., -1.]], [[5., 0.5], [-3., -1.5]], 3., 0.375),
      # A_true = I, A_est = P^-1 (check: P A_est = I) with P = [[0, 2, 0], [0, 0, -1],
      # [1, 0.5, 0]], a signed, scaled permutation plus 0.5 off it: only row 2 (1.5 / 1 - 1 = 0.5)
      # and column 1 (2.5 / 2 - 1 = 0.25) are non-zero; 0.75 / (2 * 3 * 2) = 0.0625.
      ('three_sources', np.eye(3).tolist(),
       [[-0.25, 0., 1.], [0.5, 0., 0.], [0., -1., 0.]], 1., 0.0625))
  def test_amari_distance_of_hand_made_estimate(self, a_true, a_est, divisor, expected):
    a_est = np.array(a_est) / divisor
    self.assertAlmostEqual(metrics.amari_distance(a_true, a_est), expected, places=12)

  @parameterized.named_parameters(('square', 4, 4), ('non_square', 8, 4))
  def test_amari_distance_is_zero_for_permuted_scaled_copy(self, x_dim, z_dim):
    a_true = self.rng.standard_normal((x_dim, z_dim))
    a_est = _signed_permutation(a_true, self.rng, scale=True)
    self.assertAlmostEqual(metrics.amari_distance(a_true, a_est), 0., places=10)

  def test_amari_distance_is_in_unit_interval(self):
    for _ in range(50):
      a_est = self.rng.standard_normal(self.a_true.shape)
      distance = metrics.amari_distance(self.a_true, a_est)
      self.assertBetween(distance, 0., 1.)
    # The maximum 1 is reached when P = pinv(A_est) A_true has all-equal magnitudes.
    square = np.ones((3, 3)) - 2. * np.eye(3)
    self.assertAlmostEqual(metrics.amari_distance(square, np.eye(3)), 1.)


if __name__ == '__main__':
  tf.test.main()
