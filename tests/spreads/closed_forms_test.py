"""Tests for the built-in closed-form spreads (spreadtf/spreads/closed_forms.py)."""

from absl.testing import parameterized
import numpy as np
from scipy import special
from scipy import stats
import tensorflow as tf
import tensorflow_probability as tfp

from spreadtf.spreads import injective
from spreadtf.spreads import kernels
from spreadtf.spreads import lowrank
from spreadtf.spreads import spread_distribution
from spreadtf.spreads import spreading

tfd = tfp.distributions


class ClosedFormSpreadTest(tf.test.TestCase, parameterized.TestCase):

  def test_point_mass_spreads_to_kernel_at_point(self):
    kernel = kernels.LaplaceSpread(0.4)
    loc = tf.constant([[0., 1.], [2., 3.]])
    spread = spreading.spread(tfd.VectorDeterministic(loc), kernel)
    y = tf.constant([0.5, 0.5])
    self.assertAllClose(spread.log_prob(y), kernel.at(loc).log_prob(y))
    self.assertEqual(spread.batch_shape, [2])
    self.assertEqual(spread.event_shape, [2])

  def test_image_point_mass_via_independent_has_image_event(self):
    images = tf.zeros([3, 4, 4, 2])
    point = tfd.Independent(tfd.Deterministic(images), reinterpreted_batch_ndims=3)
    spread = spreading.spread(point, kernels.GaussianSpread(0.5))
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
    spread = spreading.spread(tfd.Empirical(points, event_ndims=1), kernel)
    # Independent reference: log (1/N) sum_n prod_d K(y_d - x_nd).
    per_point = log_kernel(y[:, None, :], points[None, :, :]).sum(-1)
    want = special.logsumexp(per_point, axis=1) - np.log(40.)
    self.assertAllClose(spread.log_prob(y), want, rtol=1e-5, atol=1e-5)
    self.assertEqual(spread.event_shape, [3])
    self.assertEqual(spread.batch_shape, [])

  def test_gaussian_variances_add_for_normal_and_multivariate_normals(self):
    kernel = kernels.GaussianSpread(0.5)
    normal = spreading.spread(tfd.Normal(1., 2.), kernel)
    self.assertAllClose(normal.stddev(), np.sqrt(4.25))
    diag = spreading.spread(tfd.MultivariateNormalDiag([0., 1.], [1., 3.]), kernel)
    self.assertAllClose(diag.covariance(), np.diag([1.25, 9.25]))
    cov = np.array([[2., 0.5], [0.5, 1.]], np.float32)
    tril = spreading.spread(
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
    spread = spreading.spread(base, kernel)
    self.assertNotIsInstance(spread, spread_distribution.SpreadDistribution)
    self.assertEqual(spread.batch_shape, [2])
    self.assertEqual(spread.event_shape, [])
    y = np.array([[0.3, -1.], [2., 1.5], [-0.5, 0.]], np.float32)
    self.assertAllClose(spread.log_prob(y), reference.logpdf(y), rtol=1e-5)

  def test_independent_normal_spreads_to_independent_normal(self):
    base = tfd.Independent(tfd.Normal([0., 1.], [1., 2.]), reinterpreted_batch_ndims=1)
    spread = spreading.spread(base, kernels.GaussianSpread([0.5, 1.]))
    self.assertNotIsInstance(spread, spread_distribution.SpreadDistribution)
    self.assertEqual(spread.event_shape, [2])
    y = np.array([[0.3, -1.], [2., 1.5]], np.float32)
    want = stats.norm([0., 1.], np.sqrt([1.25, 5.])).logpdf(y).sum(-1)
    self.assertAllClose(spread.log_prob(y), want, rtol=1e-5)

  def test_empirical_with_per_member_scale_matches_numpy_mixture(self):
    # The scale spans the batch axis of the points, so a mixture over the points' last axis would
    # pair scales with points; the spread sums over all N points instead, exactly.
    points = np.array([[-1., 0., 0.5, 2., 3.], [0., 0.1, 0.2, 0.3, 4.]], np.float32)  # [2, N]
    scale = np.array([0.5, 1.], np.float32)
    spread = spreading.spread(tfd.Empirical(points), kernels.GaussianSpread(scale),
                              num_samples=1, seed=[1, 2])
    self.assertEqual(spread.batch_shape, [2])
    y = np.array([[0.3, -1.], [2., 1.5]], np.float32)
    per_point = stats.norm(points[None], scale[None, :, None]).logpdf(y[..., None])
    want = special.logsumexp(per_point, axis=-1) - np.log(5.)
    self.assertAllClose(spread.log_prob(y), want, rtol=1e-5)


  def test_validate_args_rejects_non_finite_points_naming_distribution(self):
    kernel = kernels.GaussianSpread(0.5)
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError, '`distribution` has non-finite'):
      self.evaluate(spreading.spread(tfd.Empirical([[0., np.nan]], event_ndims=1), kernel,
                                     validate_args=True).log_prob([0., 0.]))
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError, '`distribution` has non-finite'):
      self.evaluate(spreading.spread(tfd.VectorDeterministic([0., np.inf]), kernel,
                                     validate_args=True).log_prob([0., 0.]))

  def test_gradient_flows_to_base_parameters_through_closed_form(self):
    loc = tf.Variable([0.5, -0.5])
    with tf.GradientTape() as tape:
      lp = spreading.spread(tfd.MultivariateNormalDiag(loc, [1., 1.]),
                            kernels.GaussianSpread(1.)).log_prob([0., 0.])
    # d/dm log N(0 | m, 2 I) = -m / 2.
    self.assertAllClose(tape.gradient(lp, loc), [-0.25, 0.25])


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
    spread = spreading.spread(base, kernel)
    self.assertEqual(spread.batch_shape, batch)
    self.assertEqual(spread.event_shape, event)
    self.assertEqual(reference.batch_shape, batch)
    y = np.random.default_rng(0).normal(size=[4] + batch + event).astype(np.float32)
    self.assertAllClose(spread.log_prob(y), reference.log_prob(y), rtol=1e-5, atol=1e-5)
    self.assertEqual(spread.sample(6, seed=[1, 2]).shape, [6] + batch + event)


class IndependentAndLearnedKernelClosedFormTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(
      ('gaussian', kernels.GaussianSpread(0.6), stats.norm(scale=0.6)),
      ('laplace', kernels.LaplaceSpread(0.6), stats.laplace(scale=0.6)),
  )
  def test_independent_of_empirical_is_a_product_of_exact_mixtures(self, kernel, noise):
    # Two independent scalar data sets (batch [2] reinterpreted as a 2-d event): the spread is the
    # product over the two coordinates of each set's kernel mixture.
    points = np.array([[-1., 0., 0.5, 2.], [0., 0.1, 3., 4.]], np.float32)     # [2, N]
    spread = spreading.spread(tfd.Independent(tfd.Empirical(points), 1), kernel)
    self.assertNotIsInstance(spread, spread_distribution.SpreadDistribution)
    self.assertEqual(spread.event_shape, [2])
    y = np.array([[0.3, -1.], [2., 1.5], [0., 4.]], np.float32)
    per_point = noise.logpdf(y[..., None] - points)                           # [3, 2, N]
    want = (special.logsumexp(per_point, axis=-1) - np.log(4.)).sum(-1)
    self.assertAllClose(spread.log_prob(y), want, rtol=1e-5)

  def test_independent_without_closed_form_falls_back_to_monte_carlo(self):
    base = tfd.Independent(tfd.Normal([0., 1.], 1.), 1)    # no closed form under a Laplace kernel
    spread = spreading.spread(base, kernels.LaplaceSpread(0.5))
    self.assertIsInstance(spread, spread_distribution.SpreadDistribution)

  def test_learned_kernels_spread_point_masses_and_data_sets_exactly(self):
    image = [2, 2, 3]
    low_rank = lowrank.LowRankGaussianSpread(0.5, rank=2, event_size=12, event_ndims=3, seed=1)
    injective_kernel = injective.InjectiveSpread(kernels.GaussianSpread(0.5), event_shape=image,
                                                 hidden_channels=4, seed=2,
                                                 update_power_iteration=False)
    points = tf.random.stateless_normal([5] + image, seed=[1, 2])
    y = tf.random.stateless_normal([3] + image, seed=[1, 3])
    for kernel in (low_rank, injective_kernel):
      point = spreading.spread(tfd.Independent(tfd.Deterministic(points), 3), kernel)
      self.assertAllClose(point.log_prob(y[:, None]), kernel.at(points, 3).log_prob(y[:, None]))
      data = spreading.spread(tfd.Empirical(points, event_ndims=3), kernel)
      self.assertIsInstance(data, tfd.MixtureSameFamily)
      # (1/N) sum_n K(y | x_n), from the kernel's own densities.
      want = tf.reduce_logsumexp(kernel.at(points, 3).log_prob(y[:, None]), -1) - np.log(5.)
      self.assertAllClose(data.log_prob(y), want, rtol=1e-5)


if __name__ == '__main__':
  tf.test.main()
