"""Tests for spread KL and spread f-divergences."""

from absl.testing import parameterized
import numpy as np
from scipy import stats
import tensorflow as tf
import tensorflow_probability as tfp

from spreadtf.spreads import divergence
from spreadtf.spreads import kernels

tfd = tfp.distributions


def _gaussian_kl(m0, s0, m1, s1):
  return np.log(s1 / s0) + (s0**2 + (m0 - m1)**2) / (2. * s1**2) - 0.5


class DeltaDeltaTest(tf.test.TestCase, parameterized.TestCase):

  def test_gaussian_spread_kl_of_two_points_is_squared_distance_over_two_variances(self):
    mu0 = np.array([0.3, -1., 2.], np.float32)
    mu1 = np.array([1.7, 0., 2.5], np.float32)
    kernel = kernels.GaussianSpread(0.8)
    exact = divergence.spread_kl(tfd.VectorDeterministic(mu0), tfd.VectorDeterministic(mu1),
                                 kernel, monte_carlo=False)
    want = np.sum((mu0 - mu1)**2) / (2. * 0.8**2)    # not ||mu0 - mu1||^2 (the ICLR typo)
    self.assertAllClose(exact, want, rtol=1e-6)
    mc = divergence.spread_kl(tfd.VectorDeterministic(mu0), tfd.VectorDeterministic(mu1), kernel,
                              monte_carlo=True, num_samples=50000, seed=[1, 2],
                              return_stderr=True)
    self.assertLess(abs(float(mc.value) - want), 4. * float(mc.stderr))
    self.assertLess(float(mc.stderr), 0.01 * want)

  def test_laplace_spread_kl_of_two_points_has_closed_form(self):
    mu0 = np.array([0., 1., -2.], np.float32)
    mu1 = np.array([0.5, 1., 1.], np.float32)
    b = 0.7
    d = np.abs(mu0 - mu1)
    want = np.sum(d / b + np.exp(-d / b) - 1.)
    kernel = kernels.LaplaceSpread(b)
    exact = divergence.spread_kl(tfd.VectorDeterministic(mu0), tfd.VectorDeterministic(mu1),
                                 kernel, monte_carlo=False)
    self.assertAllClose(exact, want, rtol=1e-5)
    mc = divergence.spread_kl(tfd.VectorDeterministic(mu0), tfd.VectorDeterministic(mu1), kernel,
                              monte_carlo=True, num_samples=50000, seed=[3, 4],
                              return_stderr=True)
    self.assertLess(abs(float(mc.value) - want), 4. * float(mc.stderr))

  def test_batched_points_give_batched_divergences(self):
    mu0 = tf.zeros([5, 2])
    mu1 = tf.reshape(tf.range(10, dtype=tf.float32), [5, 2])
    kl = divergence.spread_kl(tfd.VectorDeterministic(mu0), tfd.VectorDeterministic(mu1),
                              kernels.GaussianSpread(1.))
    self.assertAllClose(kl, np.sum(mu1.numpy()**2, -1) / 2.)


class DivergencePropertyTest(tf.test.TestCase, parameterized.TestCase):

  def _empirical(self, seed, shift=0.):
    points = np.random.default_rng(seed).normal(size=(30, 2)).astype(np.float32) + shift
    return tfd.Empirical(points, event_ndims=1)

  def test_spread_kl_of_identical_distributions_is_zero(self):
    kernel = kernels.GaussianSpread(0.5)
    data = self._empirical(0)
    kl = divergence.spread_kl(data, data, kernel, num_samples=2000, seed=[1, 2])
    self.assertAllClose(kl, 0., atol=1e-6)

  def test_spread_kl_of_different_empirical_sets_is_positive(self):
    kernel = kernels.GaussianSpread(0.5)
    kl = divergence.spread_kl(self._empirical(0), self._empirical(1, shift=0.5), kernel,
                              num_samples=4000, seed=[1, 2], return_stderr=True)
    self.assertGreater(float(kl.value), 5. * float(kl.stderr))

  def test_spread_kl_between_disjoint_point_sets_is_finite(self):
    # Without the spread, KL between two empirical sets with disjoint support is infinite.
    kl = divergence.spread_kl(self._empirical(0), self._empirical(1), kernels.LaplaceSpread(0.3),
                              num_samples=2000, seed=[5, 6])
    self.assertTrue(np.isfinite(kl) and kl > 0.)

  def test_data_processing_inequality_for_two_gaussians(self):
    p, q = tfd.Normal(0., 1.), tfd.Normal(1.5, 0.5)
    unspread = _gaussian_kl(0., 1., 1.5, 0.5)
    scales = [0.1, 0.3, 1., 3.]
    spread_kls = [float(divergence.spread_kl(p, q, kernels.GaussianSpread(s))) for s in scales]
    for s, value in zip(scales, spread_kls):
      want = _gaussian_kl(0., np.sqrt(1. + s**2), 1.5, np.sqrt(0.25 + s**2))
      self.assertAllClose(value, want, rtol=1e-5)
    self.assertAllLess(spread_kls, unspread)
    self.assertAllLess(np.diff(spread_kls), 0.)

  def test_mismatched_event_shapes_raise(self):
    with self.assertRaisesRegex(ValueError, 'different event shapes'):
      divergence.spread_kl(tfd.VectorDeterministic(tf.zeros(2)),
                           tfd.VectorDeterministic(tf.zeros(3)), kernels.GaussianSpread(1.))

  def test_no_closed_form_raises_when_monte_carlo_is_forbidden(self):
    with self.assertRaisesRegex(NotImplementedError, 'No closed-form KL'):
      divergence.spread_kl(tfd.Normal(0., 1.), tfd.Normal(1., 1.), kernels.LaplaceSpread(1.),
                           monte_carlo=False)

  def test_gradient_of_monte_carlo_spread_kl_reaches_model_parameters(self):
    loc = tf.Variable(1.)
    data = tfd.Empirical(tf.constant([0., 0.2, -0.1]))
    with tf.GradientTape() as tape:
      kl = divergence.spread_kl(data, tfd.Normal(loc, 0.5), kernels.LaplaceSpread(0.3),
                                num_samples=256, num_inner_samples=256, seed=[1, 2])
    grad = tape.gradient(kl, loc)
    self.assertGreater(float(grad), 0.)   # moving the model towards the data lowers the KL

  def test_spread_kl_runs_under_xla(self):
    kernel = kernels.LaplaceSpread(0.5)

    @tf.function(jit_compile=True)
    def kl(seed):
      return divergence.spread_kl(tfd.Normal(0., 1.), tfd.Normal(1., 1.), kernel,
                                  num_samples=128, num_inner_samples=64, seed=seed)

    self.assertAllEqual(kl(tf.constant([1, 2])), kl(tf.constant([1, 2])))


class FDivergenceTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self.kernel = kernels.GaussianSpread(0.5)
    self.p, self.q = tfd.Normal(0., 1.), tfd.Normal(1., 1.)
    # Both spread to N(m, 1.25): all divergences below have closed forms.
    self.s = np.sqrt(1.25)

  def _estimate(self, f):
    return divergence.spread_f_divergence(self.p, self.q, self.kernel, f=f, num_samples=40000,
                                          seed=[1, 2], return_stderr=True)

  @parameterized.named_parameters(
      ('kl_forward', divergence.kl_forward, lambda s: 1. / (2. * s**2)),
      ('kl_reverse', divergence.kl_reverse, lambda s: 1. / (2. * s**2)),
      ('total_variation', divergence.total_variation,
       lambda s: 2. * stats.norm.cdf(0.5 / s) - 1.),
      ('squared_hellinger', divergence.squared_hellinger,
       lambda s: 2. * (1. - np.exp(-1. / (8. * s**2)))),
  )
  def test_f_divergence_matches_closed_form(self, f, closed_form):
    est = self._estimate(f)
    self.assertLess(abs(float(est.value) - closed_form(self.s)), 4. * float(est.stderr) + 1e-3)

  def test_jensen_shannon_is_symmetric_and_bounded_by_log_two(self):
    pq = self._estimate(divergence.jensen_shannon)
    qp = divergence.spread_f_divergence(self.q, self.p, self.kernel, f=divergence.jensen_shannon,
                                        num_samples=40000, seed=[3, 4], return_stderr=True)
    self.assertLess(abs(float(pq.value) - float(qp.value)),
                    4. * np.hypot(float(pq.stderr), float(qp.stderr)))
    self.assertBetween(float(pq.value), 0., np.log(2.))
    far = divergence.spread_f_divergence(
        tfd.Normal(0., 1.), tfd.Normal(50., 1.), self.kernel, f=divergence.jensen_shannon,
        num_samples=2000, seed=[5, 6])
    self.assertAllClose(far, np.log(2.), rtol=1e-4)

  def test_f_divergence_of_identical_distributions_is_zero(self):
    for f in (divergence.kl_forward, divergence.jensen_shannon, divergence.total_variation):
      self.assertAllClose(
          divergence.spread_f_divergence(self.p, self.p, self.kernel, f=f, seed=[1, 1]), 0.,
          atol=1e-6)

  def test_spread_total_variation_is_l1_distance_of_spread_densities(self):
    # The MMD link of the paper: spread TV = ||K * (p - q)||_1 / 2, here by quadrature.
    grid = np.linspace(-10., 11., 20001)
    diff = np.abs(stats.norm(0., self.s).pdf(grid) - stats.norm(1., self.s).pdf(grid))
    l1 = 0.5 * np.trapezoid(diff, grid)
    self.assertAllClose(l1, 2. * stats.norm.cdf(0.5 / self.s) - 1., rtol=1e-6)
    est = self._estimate(divergence.total_variation)
    self.assertLess(abs(float(est.value) - l1), 4. * float(est.stderr))


if __name__ == '__main__':
  tf.test.main()
