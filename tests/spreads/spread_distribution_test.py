"""Tests for the Monte Carlo spread distribution (spreadtf/spreads/spread_distribution.py)."""

from absl.testing import parameterized
import numpy as np
from scipy import special
from scipy import stats
import tensorflow as tf
import tensorflow_probability as tfp

from spreadtf.spreads import kernels
from spreadtf.spreads import pushforward
from spreadtf.spreads import spread_distribution
from spreadtf.spreads import spreading

tfd = tfp.distributions


def _generator(z):
  """A 1-d latent mapped onto a curve in 3-d: an implicit model with no density."""
  return tf.concat([z, tf.sin(2. * z), 0.5 * z**2], axis=-1)



class SpreadDistributionTest(tf.test.TestCase, parameterized.TestCase):

  def test_monte_carlo_spread_lines_kernel_batch_up_with_batch_not_samples(self):
    # A sampler over three points (no closed form) spread by a scale per batch member [2, 1]: the
    # exact answer is the Laplace mixture over the points with each member's scale.
    points = np.array([[0., 0.], [1., 2.], [-1., 0.5]], np.float32)
    model = pushforward.Pushforward(tfd.Categorical(logits=tf.zeros(3)),
                                    lambda index: tf.gather(points, index), [2])
    scale = np.array([[0.5], [2.]], np.float32)
    spread = spreading.spread(model, kernels.LaplaceSpread(scale), num_samples=20000,
                              seed=[1, 2])
    self.assertIsInstance(spread, spread_distribution.SpreadDistribution)
    self.assertEqual(spread.batch_shape, [2])
    self.assertEqual(spread.event_shape, [2])
    y = np.array([[0.3, 0.], [-1., 1.]], np.float32)     # one point per batch member
    per_point = stats.laplace(points[None], scale[:, None]).logpdf(y[:, None]).sum(-1)  # [2, 3]
    want = special.logsumexp(per_point, axis=-1) - np.log(3.)
    # Monte Carlo error: the relative standard deviation of a mean of S = 20000 draws of a
    # three-point mixture is at most sqrt(2 / S) = 0.01; the tolerance is about 4 times that.
    self.assertAllClose(spread.log_prob(y), want, atol=0.04)

  def test_monte_carlo_samples_are_independent_per_broadcast_member(self):
    # Normal(0, 1) spread by Laplace scales [0.5, 2.] (no closed form): each member has variance
    # 1 + 2 b^2, and the members' base draws are independent (a shared x would correlate them).
    spread = spreading.spread(tfd.Normal(0., 1.), kernels.LaplaceSpread([0.5, 2.]))
    self.assertIsInstance(spread, spread_distribution.SpreadDistribution)
    self.assertEqual(spread.batch_shape, [2])
    y = self.evaluate(spread.sample(40000, seed=[5, 6]))
    self.assertEqual(y.shape, (40000, 2))
    self.assertAllClose(np.var(y, axis=0), [1.5, 9.], rtol=0.05)
    self.assertAllClose(np.corrcoef(y.T)[0, 1], 0., atol=0.025)


  def test_monte_carlo_log_prob_is_consistent(self):
    # Gaussian base and kernel have the closed form N(0, 1 + 0.25): compare the estimator to it.
    base = tfd.MultivariateNormalDiag(tf.zeros(2), tf.ones(2))
    kernel = kernels.GaussianSpread(0.5)
    mc = spread_distribution.SpreadDistribution(base, kernel, num_samples=200000, seed=[1, 2])
    exact = spreading.spread(base, kernel)
    y = tf.constant([[0., 0.], [1., -1.], [2., 0.5]])
    self.assertAllClose(mc.log_prob(y), exact.log_prob(y), atol=0.01)

  def test_monte_carlo_log_prob_is_biased_downwards_for_few_samples(self):
    base = tfd.Normal(0., 1.)
    kernel = kernels.GaussianSpread(0.3)
    exact = spreading.spread(base, kernel).log_prob(1.5)
    estimates = [spread_distribution.SpreadDistribution(base, kernel, num_samples=8,
                                                        seed=[s, 0]).log_prob(1.5)
                 for s in range(200)]
    # Jensen: E[log mean K] < log E[K]. With 8 samples the bias is ~0.2 nats, far above the
    # standard error of the mean over 200 seeds (~0.05).
    self.assertLess(np.mean(estimates), exact - 0.05)

  def test_monte_carlo_sample_and_log_prob_shapes_with_batch(self):
    base = tfd.Normal(tf.zeros([4, 2]), 1.)        # batch [4, 2], scalar event
    spread = spreading.spread(base, kernels.LaplaceSpread(0.5), num_samples=16, seed=[1, 1])
    self.assertEqual(spread.batch_shape, [4, 2])
    self.assertEqual(spread.event_shape, [])
    y = spread.sample([3, 5], seed=[2, 2])
    self.assertEqual(y.shape, [3, 5, 4, 2])
    self.assertEqual(spread.log_prob(y).shape, [3, 5, 4, 2])

  def test_monte_carlo_log_prob_broadcasts_y_against_batch(self):
    base = tfd.Normal(tf.reshape(tf.range(8, dtype=tf.float32) / 4., [4, 2]), 1.)  # batch [4, 2]
    kernel = kernels.GaussianSpread(0.5)
    spread = spread_distribution.SpreadDistribution(base, kernel, num_samples=20000, seed=[1, 2])
    full = spread.log_prob(tf.zeros([4, 2]))
    for y in (0., tf.zeros([2]), tf.zeros([1, 2])):
      # A stateless seed reuses the base samples, so broadcasting y changes nothing.
      self.assertAllEqual(spread.log_prob(y), full)
    self.assertEqual(spread.log_prob(tf.zeros([3, 1, 1])).shape, [3, 4, 2])
    # Monte Carlo error: relative standard deviation sqrt((E[K^2] / E[K]^2 - 1) / S) <= 0.014
    # for these locations (|y - m| <= 1.75); the tolerance is about 3.5 times that.
    self.assertAllClose(full, spreading.spread(base, kernel).log_prob(0.), atol=0.05)

  def test_monte_carlo_spread_of_image_generator_has_image_event(self):
    latent = tfd.MultivariateNormalDiag(tf.zeros(2), tf.ones(2))
    model = pushforward.Pushforward(
        latent, lambda z: tf.reshape(tf.tile(z, [1, 8]), [-1, 2, 2, 4]), [2, 2, 4])
    spread = spreading.spread(model, kernels.GaussianSpread(0.5), num_samples=32, seed=[1, 2])
    y = spread.sample(6, seed=[3, 4])
    self.assertEqual(y.shape, [6, 2, 2, 4])
    self.assertEqual(spread.log_prob(y).shape, [6])

  def test_gradient_flows_to_generator_through_monte_carlo_log_prob(self):
    weight = tf.Variable(1.5)
    model = pushforward.Pushforward(tfd.Normal(tf.zeros([1]), 1.),
                                    lambda z: weight * _generator(z), [3])
    spread = spreading.spread(model, kernels.LaplaceSpread(0.5), num_samples=64, seed=[5, 6])
    with tf.GradientTape() as tape:
      lp = tf.reduce_sum(spread.log_prob(tf.ones([4, 3])))
    grad = tape.gradient(lp, weight)
    self.assertIsNotNone(grad)
    self.assertTrue(np.isfinite(grad) and grad != 0.)

  def test_monte_carlo_runs_under_xla_reproducibly(self):
    spread = spreading.spread(tfd.Normal(0., 1.), kernels.LaplaceSpread(0.5), num_samples=64,
                              seed=tf.constant([7, 8]))

    @tf.function(jit_compile=True)
    def sample_and_score(seed):
      y = spread.sample(10, seed=seed)
      return y, spread.log_prob(y)

    y1, lp1 = sample_and_score(tf.constant([1, 2]))
    y2, lp2 = sample_and_score(tf.constant([1, 2]))
    self.assertAllEqual(y1, y2)
    self.assertAllEqual(lp1, lp2)
    self.assertAllEqual(tf.math.is_finite(lp1), [True] * 10)

  def test_bad_arguments_raise(self):
    with self.assertRaisesRegex(ValueError, '`num_samples` must be a positive'):
      spread_distribution.SpreadDistribution(tfd.Normal(0., 1.), kernels.LaplaceSpread(1.),
                                             num_samples=0)
    with self.assertRaisesRegex(TypeError, '`kernel` must be a spreadtf.SpreadKernel'):
      spread_distribution.SpreadDistribution(tfd.Normal(0., 1.), tfd.Laplace(0., 1.))


if __name__ == '__main__':
  tf.test.main()
