"""Tests for spread KL and spread f-divergences."""

from absl.testing import parameterized
import numpy as np
from scipy import stats
import tensorflow as tf
import tensorflow_probability as tfp

from spreadtf.spreads import divergence
from spreadtf.spreads import kernels
from spreadtf.spreads import pushforward

tfd = tfp.distributions


def _gaussian_kl(m0, s0, m1, s1):
  return np.log(s1 / s0) + (s0**2 + (m0 - m1)**2) / (2. * s1**2) - 0.5


def _multivariate_gaussian_kl(m0, cov0, m1, cov1):
  """KL(N(m0, cov0) || N(m1, cov1)) in float64."""
  cov1_inv = np.linalg.inv(cov1)
  d = m1 - m0
  return 0.5 * (np.trace(cov1_inv @ cov0) + d @ cov1_inv @ d - len(m0)
                + np.linalg.slogdet(cov1)[1] - np.linalg.slogdet(cov0)[1])


_GAUSSIAN_FAMILIES = ('point', 'normal', 'diag', 'tril')


def _gaussian_of_family(family, loc, cov):
  """A distribution with mean `loc` and covariance `cov` (zero for a point mass)."""
  stddev = np.sqrt(np.diag(cov)).astype(np.float32)
  return {
      'point': lambda: tfd.VectorDeterministic(loc),
      'normal': lambda: tfd.Independent(tfd.Normal(loc, stddev), reinterpreted_batch_ndims=1),
      'diag': lambda: tfd.MultivariateNormalDiag(loc, stddev),
      'tril': lambda: tfd.MultivariateNormalTriL(loc, np.linalg.cholesky(cov).astype(np.float32)),
  }[family]()


def _pushforward_of_points(points):
  """An implicit sampler of the uniform distribution over `points`: no closed-form spread."""
  return pushforward.Pushforward(tfd.Categorical(logits=tf.zeros(len(points))),
                                 lambda index: tf.gather(points, index), points.shape[1:])


def _inner_estimate_allowance(f_name, num_points, num_inner_samples):
  """Bound on the bias of D_f(p~ || q~) when q~ is estimated from inner samples of p.

  The inner samples reweight the points w_n = count_n / S, and by data processing
  D_f(p~ || q^~) <= D_f(p || w) ~= f''(1) chi^2 / 2 with E[chi^2] = (N - 1) / S. The allowance is
  twice that (TV: sqrt(chi^2) / 2, by Cauchy-Schwarz, with the same factor 2 on chi^2).
  """
  chi2 = 2. * (num_points - 1) / num_inner_samples
  return {'kl_forward': chi2 / 2., 'jensen_shannon': chi2 / 8.,
          'total_variation': np.sqrt(chi2) / 2.}[f_name]


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

  @parameterized.named_parameters(
      (f'{p}_vs_{q}', p, q) for p in _GAUSSIAN_FAMILIES for q in _GAUSSIAN_FAMILIES)
  def test_gaussian_spread_kl_across_families_is_exact(self, p_family, q_family):
    scale = np.array([0.5, 1., 0.8], np.float32)
    p_loc = np.array([0.3, -1., 2.], np.float32)
    q_loc = np.array([1., 0.5, 1.5], np.float32)
    p_cov = np.array([[1., 0.3, 0.], [0.3, 2., 0.5], [0., 0.5, 0.7]])
    q_cov = np.array([[0.5, -0.2, 0.1], [-0.2, 1., 0.], [0.1, 0., 1.5]])
    if p_family != 'tril':
      p_cov = np.diag(np.diag(p_cov)) if p_family != 'point' else np.zeros([3, 3])
    if q_family != 'tril':
      q_cov = np.diag(np.diag(q_cov)) if q_family != 'point' else np.zeros([3, 3])
    kl = divergence.spread_kl(
        _gaussian_of_family(p_family, p_loc, p_cov), _gaussian_of_family(q_family, q_loc, q_cov),
        kernels.GaussianSpread(scale), monte_carlo=False)
    noise = np.diag(scale.astype(np.float64)**2)
    want = _multivariate_gaussian_kl(p_loc, p_cov + noise, q_loc, q_cov + noise)
    self.assertAllClose(kl, want, rtol=1e-5)

  def test_batched_points_give_batched_divergences(self):
    mu0 = tf.zeros([5, 2])
    mu1 = tf.reshape(tf.range(10, dtype=tf.float32), [5, 2])
    kl = divergence.spread_kl(tfd.VectorDeterministic(mu0), tfd.VectorDeterministic(mu1),
                              kernels.GaussianSpread(1.))
    self.assertAllClose(kl, np.sum(mu1.numpy()**2, -1) / 2.)


class BroadcastingDivergenceTest(tf.test.TestCase, parameterized.TestCase):
  """A kernel scale with batch axes gives one divergence per broadcast batch member."""

  def test_point_mass_spread_kls_have_one_value_per_kernel_member(self):
    p, q = tfd.VectorDeterministic([0., 0.]), tfd.VectorDeterministic([1., 1.])
    scale = np.array([[0.5], [1.]], np.float32)                     # kernel batch [2]
    gaussian = divergence.spread_kl(p, q, kernels.GaussianSpread(scale), monte_carlo=False)
    self.assertAllClose(gaussian, 2. / (2. * scale[:, 0]**2))     # |d|^2 / (2 s^2)
    laplace = divergence.spread_kl(p, q, kernels.LaplaceSpread(scale), monte_carlo=False)
    d = 1. / scale[:, 0]
    self.assertAllClose(laplace, 2. * (d + np.exp(-d) - 1.), rtol=1e-5)

  def test_f_divergence_estimates_broadcast_against_kernel_batch(self):
    # N(0, 1) vs N(1, 1) spread by s in [0.5, 2]: N(., 1 + s^2), so KL = 1 / (2 (1 + s^2)).
    scale = np.array([0.5, 2.], np.float32)
    est = divergence.spread_f_divergence(tfd.Normal(0., 1.), tfd.Normal(1., 1.),
                                         kernels.GaussianSpread(scale), num_samples=40000,
                                         seed=[1, 2], return_stderr=True)
    self.assertEqual(est.value.shape, [2])
    want = 1. / (2. * (1. + scale**2))
    self.assertAllLessEqual(np.abs(est.value - want) - 4. * est.stderr, 1e-3)


class DivergencePropertyTest(tf.test.TestCase, parameterized.TestCase):

  def _empirical(self, seed, shift=0.):
    points = np.random.default_rng(seed).normal(size=(30, 2)).astype(np.float32) + shift
    return tfd.Empirical(points, event_ndims=1)

  def test_spread_kl_of_equal_distributions_is_zero_within_estimator_error(self):
    # The same points as an exact spread mixture (Empirical) and as a sampler with a Monte Carlo
    # spread density (Pushforward): KL(p~ || q~) = 0, estimated with noise and a small inner bias.
    data = self._empirical(0)
    kl = divergence.spread_kl(data, _pushforward_of_points(data.samples),
                              kernels.GaussianSpread(0.5), num_samples=2000,
                              num_inner_samples=10000, seed=[1, 2], return_stderr=True)
    allowance = _inner_estimate_allowance('kl_forward', 30, 10000)
    self.assertLess(abs(float(kl.value)), 4. * float(kl.stderr) + allowance)

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
    for s, value in zip(scales, spread_kls, strict=True):
      want = _gaussian_kl(0., np.sqrt(1. + s**2), 1.5, np.sqrt(0.25 + s**2))
      self.assertAllClose(value, want, rtol=1e-5)
    self.assertAllLess(spread_kls, unspread)
    self.assertAllLess(np.diff(spread_kls), 0.)

  def test_mismatched_event_shapes_raise(self):
    with self.assertRaisesRegex(ValueError, 'different event shapes'):
      divergence.spread_kl(tfd.VectorDeterministic(tf.zeros(2)),
                           tfd.VectorDeterministic(tf.zeros(3)), kernels.GaussianSpread(1.))

  def test_kernel_that_is_not_a_spread_kernel_raises_type_error(self):
    not_a_kernel = tfd.Normal(0., 1.)   # a distribution, not a SpreadKernel
    for divergence_fn in (divergence.spread_kl, divergence.spread_f_divergence):
      with self.assertRaisesRegex(TypeError, '`kernel` must be a spreadtf.SpreadKernel'):
        divergence_fn(tfd.Deterministic(0.), tfd.Deterministic(1.), not_a_kernel)

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

  @parameterized.named_parameters(
      ('kl_forward', divergence.kl_forward),
      ('jensen_shannon', divergence.jensen_shannon),
      ('total_variation', divergence.total_variation),
  )
  def test_f_divergence_of_equal_distributions_is_zero_within_estimator_error(self, f):
    # Exact spread mixture vs Monte Carlo spread of a sampler over the same 20 points.
    points = np.random.default_rng(0).normal(size=(20, 2)).astype(np.float32)
    est = divergence.spread_f_divergence(
        tfd.Empirical(points, event_ndims=1), _pushforward_of_points(points), self.kernel, f=f,
        num_samples=2000, num_inner_samples=10000, seed=[1, 2], return_stderr=True)
    allowance = _inner_estimate_allowance(f.__name__, 20, 10000)
    self.assertLess(abs(float(est.value)), 4. * float(est.stderr) + allowance)

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
