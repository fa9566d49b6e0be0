"""Tests for spreadtf.ica.metrics."""

from absl.testing import parameterized
import gin
import numpy as np
from scipy import optimize
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

  def test_relative_error_matches_numpy_reference_formula(self):
    a_est = self.a_true + 0.3 * self.rng.standard_normal(self.a_true.shape)
    a_est = _signed_permutation(a_est, self.rng)
    # The formula of shared/bench/numpy_spread_em.py, written out.
    c = np.abs(self.a_true.T @ a_est) / np.outer(np.linalg.norm(self.a_true, axis=0),
                                                 np.linalg.norm(a_est, axis=0))
    _, cols = optimize.linear_sum_assignment(-c)
    b = a_est[:, cols] * np.sign(np.sum(self.a_true * a_est[:, cols], axis=0))
    expected = np.mean(np.abs(b - self.a_true) / np.abs(self.a_true))
    self.assertAlmostEqual(metrics.relative_error(self.a_true, a_est), expected, places=12)

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
