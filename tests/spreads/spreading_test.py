"""Tests for spread distributions: closed forms and the Monte Carlo SpreadDistribution."""

from absl.testing import parameterized
import numpy as np
from scipy import special
from scipy import stats
import tensorflow as tf
import tensorflow_probability as tfp

from spreadtf.spreads import kernels
from spreadtf.spreads import spreading as spread_lib

tfd = tfp.distributions


def _generator(z):
  """A 1-d latent mapped onto a curve in 3-d: an implicit model with no density."""
  return tf.concat([z, tf.sin(2. * z), 0.5 * z**2], axis=-1)


class ClosedFormSpreadTest(tf.test.TestCase, parameterized.TestCase):

  def test_point_mass_spreads_to_kernel_at_point(self):
    kernel = kernels.LaplaceSpread(0.4)
    loc = tf.constant([[0., 1.], [2., 3.]])
    spread = spread_lib.spread(tfd.VectorDeterministic(loc), kernel)
    y = tf.constant([0.5, 0.5])
    self.assertAllClose(spread.log_prob(y), kernel.at(loc).log_prob(y))
    self.assertEqual(spread.batch_shape, [2])
    self.assertEqual(spread.event_shape, [2])

  def test_image_point_mass_via_independent_has_image_event(self):
    images = tf.zeros([3, 4, 4, 2])
    point = tfd.Independent(tfd.Deterministic(images), reinterpreted_batch_ndims=3)
    spread = spread_lib.spread(point, kernels.GaussianSpread(0.5))
    self.assertEqual(spread.batch_shape, [3])
    self.assertEqual(spread.event_shape, [4, 4, 2])

  @parameterized.named_parameters(
      ('gaussian', kernels.GaussianSpread(0.6), lambda y, x: stats.norm(x, 0.6).logpdf(y)),
      ('laplace', kernels.LaplaceSpread(0.6), lambda y, x: stats.laplace(x, 0.6).logpdf(y)),
  )
  def test_empirical_spread_log_prob_matches_numpy_mixture(self, kernel, log_kernel):
    rng = np.random.default_rng(0)
    points = rng.normal(size=(40, 3)).astype(np.float32)
    y = rng.normal(size=(7, 3)).astype(np.float32)
    spread = spread_lib.spread(tfd.Empirical(points, event_ndims=1), kernel)
    # Independent reference: log (1/N) sum_n prod_d K(y_d - x_nd).
    per_point = log_kernel(y[:, None, :], points[None, :, :]).sum(-1)
    want = special.logsumexp(per_point, axis=1) - np.log(40.)
    self.assertAllClose(spread.log_prob(y), want, rtol=1e-5, atol=1e-5)
    self.assertEqual(spread.event_shape, [3])
    self.assertEqual(spread.batch_shape, [])

  def test_gaussian_variances_add_for_normal_and_multivariate_normals(self):
    kernel = kernels.GaussianSpread(0.5)
    normal = spread_lib.spread(tfd.Normal(1., 2.), kernel)
    self.assertAllClose(normal.stddev(), np.sqrt(4.25))
    diag = spread_lib.spread(tfd.MultivariateNormalDiag([0., 1.], [1., 3.]), kernel)
    self.assertAllClose(diag.covariance(), np.diag([1.25, 9.25]))
    cov = np.array([[2., 0.5], [0.5, 1.]], np.float32)
    tril = spread_lib.spread(
        tfd.MultivariateNormalTriL([0., 0.], np.linalg.cholesky(cov)),
        kernels.GaussianSpread([0.5, 1.]))
    self.assertIsInstance(tril, tfd.MultivariateNormalTriL)
    self.assertAllClose(tril.covariance(), cov + np.diag([0.25, 1.]), rtol=1e-5)

  @parameterized.named_parameters(
      ('normal_gaussian', tfd.Normal([0., 1.], [1., 2.]), kernels.GaussianSpread([0.5, 1.]),
       stats.norm([0., 1.], np.sqrt([1.25, 5.]))),
      ('point_gaussian', tfd.Deterministic([0., 1.]), kernels.GaussianSpread([0.5, 1.]),
       stats.norm([0., 1.], [0.5, 1.])),
      ('point_laplace', tfd.Deterministic([0., 1.]), kernels.LaplaceSpread([0.5, 1.]),
       stats.laplace([0., 1.], [0.5, 1.])),
  )
  def test_per_member_scale_of_scalar_event_batch_has_closed_form(self, base, kernel, reference):
    # A kernel scale [2] over a batch [2] of scalar events: one scale per batch member.
    spread = spread_lib.spread(base, kernel)
    self.assertNotIsInstance(spread, spread_lib.SpreadDistribution)
    self.assertEqual(spread.batch_shape, [2])
    self.assertEqual(spread.event_shape, [])
    y = np.array([[0.3, -1.], [2., 1.5], [-0.5, 0.]], np.float32)
    self.assertAllClose(spread.log_prob(y), reference.logpdf(y), rtol=1e-5)

  def test_independent_normal_spreads_to_independent_normal(self):
    base = tfd.Independent(tfd.Normal([0., 1.], [1., 2.]), reinterpreted_batch_ndims=1)
    spread = spread_lib.spread(base, kernels.GaussianSpread([0.5, 1.]))
    self.assertNotIsInstance(spread, spread_lib.SpreadDistribution)
    self.assertEqual(spread.event_shape, [2])
    y = np.array([[0.3, -1.], [2., 1.5]], np.float32)
    want = stats.norm([0., 1.], np.sqrt([1.25, 5.])).logpdf(y).sum(-1)
    self.assertAllClose(spread.log_prob(y), want, rtol=1e-5)

  def test_empirical_with_per_member_scale_matches_numpy_mixture(self):
    # The scale spans the batch axis of the points, so a mixture over the points' last axis would
    # pair scales with points; the spread sums over all N points instead, exactly.
    points = np.array([[-1., 0., 0.5, 2., 3.], [0., 0.1, 0.2, 0.3, 4.]], np.float32)  # [2, N]
    scale = np.array([0.5, 1.], np.float32)
    spread = spread_lib.spread(tfd.Empirical(points), kernels.GaussianSpread(scale),
                               num_samples=1, seed=[1, 2])
    self.assertEqual(spread.batch_shape, [2])
    y = np.array([[0.3, -1.], [2., 1.5]], np.float32)
    per_point = stats.norm(points[None], scale[None, :, None]).logpdf(y[..., None])
    want = special.logsumexp(per_point, axis=-1) - np.log(5.)
    self.assertAllClose(spread.log_prob(y), want, rtol=1e-5)

  def test_scale_that_cannot_line_up_raises(self):
    with self.assertRaisesRegex(ValueError, r'batch shape \(2,\) .* does not broadcast with the '
                                r'batch shape \(3,\) of `distribution`'):
      spread_lib.spread(tfd.Normal([0., 1., 2.], 1.), kernels.LaplaceSpread([0.5, 1.]))
    with self.assertRaisesRegex(ValueError, r'does not fit the event shape \(3,\)'):
      spread_lib.spread(tfd.MultivariateNormalDiag(tf.zeros(3)), kernels.GaussianSpread([1., 2.]))
    with self.assertRaisesRegex(ValueError, r'does not fit the event shape \(1,\)'):
      spread_lib.spread(spread_lib.Pushforward(tfd.Normal(tf.zeros([1]), 1.), tf.identity, [1]),
                        kernels.GaussianSpread([1., 2.]))

  def test_validate_args_rejects_non_finite_points_naming_distribution(self):
    kernel = kernels.GaussianSpread(0.5)
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError, '`distribution` has non-finite'):
      self.evaluate(spread_lib.spread(tfd.Empirical([[0., np.nan]], event_ndims=1), kernel,
                                      validate_args=True).log_prob([0., 0.]))
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError, '`distribution` has non-finite'):
      self.evaluate(spread_lib.spread(tfd.VectorDeterministic([0., np.inf]), kernel,
                                      validate_args=True).log_prob([0., 0.]))

  def test_gradient_flows_to_base_parameters_through_closed_form(self):
    loc = tf.Variable([0.5, -0.5])
    with tf.GradientTape() as tape:
      lp = spread_lib.spread(tfd.MultivariateNormalDiag(loc, [1., 1.]),
                             kernels.GaussianSpread(1.)).log_prob([0., 0.])
    # d/dm log N(0 | m, 2 I) = -m / 2.
    self.assertAllClose(tape.gradient(lp, loc), [-0.25, 0.25])


def _normal_reference(loc, stddev, event_ndims):
  reference = tfd.Normal(loc, stddev)
  return tfd.Independent(reference, event_ndims) if event_ndims else reference


class TfpBroadcastingSpreadTest(tf.test.TestCase, parameterized.TestCase):
  """`spread` gives the batch shape TFP would: the broadcast of the base's and the kernel's."""

  @parameterized.named_parameters(
      # (name, base distribution, kernel, reference: the spread as a TFP distribution built with
      # explicitly broadcast parameters, batch shape, event shape).
      ('point_scalar_events', tfd.Deterministic(tf.zeros([1, 5])),
       kernels.GaussianSpread([[0.5], [1.], [2.]]),
       tfd.Normal(tf.zeros([3, 5]), tf.constant([[0.5], [1.], [2.]]) * tf.ones([3, 5])),
       [3, 5], []),
      ('point_vector_events', tfd.VectorDeterministic([[0., 1., 2., 3., 4.]]),
       kernels.LaplaceSpread([[0.5], [1.], [2.]]),
       tfd.Independent(tfd.Laplace(tf.tile([[0., 1., 2., 3., 4.]], [3, 1]),
                                   tf.constant([[0.5], [1.], [2.]]) * tf.ones([3, 5])), 1),
       [3], [5]),
      ('point_image_events', tfd.Independent(tfd.Deterministic(tf.ones([1, 2, 2, 3])), 3),
       kernels.GaussianSpread([[[[0.5]]], [[[2.]]]]),
       tfd.Independent(tfd.Normal(tf.ones([2, 2, 2, 3]),
                                  tf.reshape([0.5, 2.], [2, 1, 1, 1]) * tf.ones([2, 2, 2, 3])),
                       3),
       [2], [2, 2, 3]),
      ('normal_scalar_events', tfd.Normal(tf.zeros([1, 5]), 2.),
       kernels.GaussianSpread([[0.5], [1.], [2.]]),
       tfd.Normal(tf.zeros([3, 5]),
                  tf.sqrt(4. + tf.constant([[0.25], [1.], [4.]])) * tf.ones([3, 5])),
       [3, 5], []),
      ('independent_normal', tfd.Independent(tfd.Normal([1., -1.], [1., 2.]), 1),
       kernels.GaussianSpread([[0.5], [2.]]),
       tfd.Independent(tfd.Normal(tf.tile([[1., -1.]], [2, 1]),
                                  tf.sqrt([[1.25, 4.25], [5., 8.]])), 1),
       [2], [2]),
      ('multivariate_normal_diag', tfd.MultivariateNormalDiag([1., -1.], [1., 2.]),
       kernels.GaussianSpread([[0.5], [2.]]),
       tfd.MultivariateNormalDiag(tf.tile([[1., -1.]], [2, 1]),
                                  tf.sqrt([[1.25, 4.25], [5., 8.]])),
       [2], [2]),
      ('multivariate_normal_tril', tfd.MultivariateNormalTriL([1., -1.], [[1., 0.], [0.5, 1.]]),
       kernels.GaussianSpread([[0.5], [2.]]),
       tfd.MultivariateNormalTriL(
           tf.tile([[1., -1.]], [2, 1]),
           tf.linalg.cholesky([[[1.25, 0.5], [0.5, 1.5]], [[5., 0.5], [0.5, 5.25]]])),
       [2], [2]),
      ('empirical_vector_events', tfd.Empirical([[0., 0.], [1., 2.], [-1., 0.5]], event_ndims=1),
       kernels.LaplaceSpread([[0.5, 1.], [2., 1.]]),
       tfd.MixtureSameFamily(
           tfd.Categorical(logits=tf.zeros([2, 3])),
           tfd.Independent(tfd.Laplace(
               tf.tile([[[0., 0.], [1., 2.], [-1., 0.5]]], [2, 1, 1]),
               tf.constant([[[0.5, 1.]], [[2., 1.]]]) * tf.ones([2, 3, 2])), 1)),
       [2], [2]),
      ('empirical_batch_of_scalar_sets', tfd.Empirical([[0., 1., 3.], [2., 2., -1.]]),
       kernels.GaussianSpread([[0.5], [1.], [2.]]),
       tfd.MixtureSameFamily(
           tfd.Categorical(logits=tf.zeros([3, 2, 3])),
           tfd.Normal(tf.tile([[[0., 1., 3.], [2., 2., -1.]]], [3, 1, 1]),
                      tf.reshape([0.5, 1., 2.], [3, 1, 1]) * tf.ones([3, 2, 3]))),
       [3, 2], []),
  )
  def test_closed_form_spread_matches_tfp_reference(self, base, kernel, reference, batch, event):
    spread = spread_lib.spread(base, kernel)
    self.assertEqual(spread.batch_shape, batch)
    self.assertEqual(spread.event_shape, event)
    self.assertEqual(reference.batch_shape, batch)
    y = np.random.default_rng(0).normal(size=[4] + batch + event).astype(np.float32)
    self.assertAllClose(spread.log_prob(y), reference.log_prob(y), rtol=1e-5, atol=1e-5)
    self.assertEqual(spread.sample(6, seed=[1, 2]).shape, [6] + batch + event)

  def test_monte_carlo_spread_lines_kernel_batch_up_with_batch_not_samples(self):
    # A sampler over three points (no closed form) spread by a scale per batch member [2, 1]: the
    # exact answer is the Laplace mixture over the points with each member's scale.
    points = np.array([[0., 0.], [1., 2.], [-1., 0.5]], np.float32)
    model = spread_lib.Pushforward(tfd.Categorical(logits=tf.zeros(3)),
                                   lambda index: tf.gather(points, index), [2])
    scale = np.array([[0.5], [2.]], np.float32)
    spread = spread_lib.spread(model, kernels.LaplaceSpread(scale), num_samples=20000,
                               seed=[1, 2])
    self.assertIsInstance(spread, spread_lib.SpreadDistribution)
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
    spread = spread_lib.spread(tfd.Normal(0., 1.), kernels.LaplaceSpread([0.5, 2.]))
    self.assertIsInstance(spread, spread_lib.SpreadDistribution)
    self.assertEqual(spread.batch_shape, [2])
    y = self.evaluate(spread.sample(40000, seed=[5, 6]))
    self.assertEqual(y.shape, (40000, 2))
    self.assertAllClose(np.var(y, axis=0), [1.5, 9.], rtol=0.05)
    self.assertAllClose(np.corrcoef(y.T)[0, 1], 0., atol=0.025)


class MonteCarloSpreadTest(tf.test.TestCase, parameterized.TestCase):

  def test_laplace_spread_of_normal_falls_back_to_monte_carlo(self):
    spread = spread_lib.spread(tfd.Normal(0., 1.), kernels.LaplaceSpread(0.5))
    self.assertIsInstance(spread, spread_lib.SpreadDistribution)

  def test_monte_carlo_log_prob_is_consistent(self):
    # Gaussian base and kernel have the closed form N(0, 1 + 0.25): compare the estimator to it.
    base = tfd.MultivariateNormalDiag(tf.zeros(2), tf.ones(2))
    kernel = kernels.GaussianSpread(0.5)
    mc = spread_lib.SpreadDistribution(base, kernel, num_samples=200000, seed=[1, 2])
    exact = spread_lib.spread(base, kernel)
    y = tf.constant([[0., 0.], [1., -1.], [2., 0.5]])
    self.assertAllClose(mc.log_prob(y), exact.log_prob(y), atol=0.01)

  def test_monte_carlo_log_prob_is_biased_downwards_for_few_samples(self):
    base = tfd.Normal(0., 1.)
    kernel = kernels.GaussianSpread(0.3)
    exact = spread_lib.spread(base, kernel).log_prob(1.5)
    estimates = [
        spread_lib.SpreadDistribution(base, kernel, num_samples=8, seed=[s, 0]).log_prob(1.5)
        for s in range(200)]
    # Jensen: E[log mean K] < log E[K]. With 8 samples the bias is ~0.2 nats, far above the
    # standard error of the mean over 200 seeds (~0.05).
    self.assertLess(np.mean(estimates), exact - 0.05)

  def test_pushforward_has_samples_but_no_density(self):
    model = spread_lib.Pushforward(tfd.Normal(tf.zeros([1]), 1.), _generator, [3])
    self.assertEqual(model.event_shape, [3])
    self.assertEqual(model.sample(4, seed=[1, 2]).shape, [4, 3])
    with self.assertRaisesRegex(NotImplementedError, 'has no density'):
      model.log_prob(tf.zeros([3]))
    spread = spread_lib.spread(model, kernels.GaussianSpread(0.2), num_samples=64, seed=[3, 4])
    self.assertAllEqual(tf.math.is_finite(spread.log_prob(tf.ones([5, 3]))), [True] * 5)

  def test_monte_carlo_sample_and_log_prob_shapes_with_batch(self):
    base = tfd.Normal(tf.zeros([4, 2]), 1.)        # batch [4, 2], scalar event
    spread = spread_lib.spread(base, kernels.LaplaceSpread(0.5), num_samples=16, seed=[1, 1])
    self.assertEqual(spread.batch_shape, [4, 2])
    self.assertEqual(spread.event_shape, [])
    y = spread.sample([3, 5], seed=[2, 2])
    self.assertEqual(y.shape, [3, 5, 4, 2])
    self.assertEqual(spread.log_prob(y).shape, [3, 5, 4, 2])

  def test_monte_carlo_log_prob_broadcasts_y_against_batch(self):
    base = tfd.Normal(tf.reshape(tf.range(8, dtype=tf.float32) / 4., [4, 2]), 1.)  # batch [4, 2]
    kernel = kernels.GaussianSpread(0.5)
    spread = spread_lib.SpreadDistribution(base, kernel, num_samples=20000, seed=[1, 2])
    full = spread.log_prob(tf.zeros([4, 2]))
    for y in (0., tf.zeros([2]), tf.zeros([1, 2])):
      # A stateless seed reuses the base samples, so broadcasting y changes nothing.
      self.assertAllEqual(spread.log_prob(y), full)
    self.assertEqual(spread.log_prob(tf.zeros([3, 1, 1])).shape, [3, 4, 2])
    # Monte Carlo error: relative standard deviation sqrt((E[K^2] / E[K]^2 - 1) / S) <= 0.014
    # for these locations (|y - m| <= 1.75); the tolerance is about 3.5 times that.
    self.assertAllClose(full, spread_lib.spread(base, kernel).log_prob(0.), atol=0.05)

  def test_monte_carlo_spread_of_image_generator_has_image_event(self):
    latent = tfd.MultivariateNormalDiag(tf.zeros(2), tf.ones(2))
    model = spread_lib.Pushforward(
        latent, lambda z: tf.reshape(tf.tile(z, [1, 8]), [-1, 2, 2, 4]), [2, 2, 4])
    spread = spread_lib.spread(model, kernels.GaussianSpread(0.5), num_samples=32, seed=[1, 2])
    y = spread.sample(6, seed=[3, 4])
    self.assertEqual(y.shape, [6, 2, 2, 4])
    self.assertEqual(spread.log_prob(y).shape, [6])

  def test_gradient_flows_to_generator_through_monte_carlo_log_prob(self):
    weight = tf.Variable(1.5)
    model = spread_lib.Pushforward(tfd.Normal(tf.zeros([1]), 1.),
                                   lambda z: weight * _generator(z), [3])
    spread = spread_lib.spread(model, kernels.LaplaceSpread(0.5), num_samples=64, seed=[5, 6])
    with tf.GradientTape() as tape:
      lp = tf.reduce_sum(spread.log_prob(tf.ones([4, 3])))
    grad = tape.gradient(lp, weight)
    self.assertIsNotNone(grad)
    self.assertTrue(np.isfinite(grad) and grad != 0.)

  def test_monte_carlo_runs_under_xla_reproducibly(self):
    spread = spread_lib.spread(tfd.Normal(0., 1.), kernels.LaplaceSpread(0.5), num_samples=64,
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
      spread_lib.SpreadDistribution(tfd.Normal(0., 1.), kernels.LaplaceSpread(1.), num_samples=0)
    with self.assertRaisesRegex(TypeError, '`distribution` must be a tfd.Distribution'):
      spread_lib.spread(np.zeros(3), kernels.LaplaceSpread(1.))


if __name__ == '__main__':
  tf.test.main()
