"""Tests for the Gaussian and Laplace spread kernels."""

from absl.testing import parameterized
import numpy as np
from scipy import special
from scipy import stats
import tensorflow as tf
import tensorflow_probability as tfp

from spreadtf.spreads import kernels
from spreadtf.spreads import spread_distribution
from spreadtf.spreads import spreading

tfd = tfp.distributions


class _LogisticSpread(kernels.FactorizedKernel):
  """A user's factorised kernel: logistic noise, phi(w) = pi b w / sinh(pi b w) > 0 (valid)."""

  def variance(self):
    return (np.pi * self._checked_scale())**2 / 3.

  def _base_noise(self):
    return tfd.Logistic(tf.zeros([], self.dtype), tf.ones([], self.dtype))

  def _make(self, loc, scale):
    return tfd.Logistic(loc, scale, validate_args=self.validate_args)

  def _characteristic_function(self, omega, scale):
    t = np.pi * scale * omega
    return tf.where(tf.equal(t, 0.), tf.ones_like(t), t / tf.sinh(t))

# (name, loc shape, scale shape, event_ndims, expected batch shape, expected event shape).
_BROADCAST_CASES = (
    ('scalar_events_batch_grows', [1, 5], [3, 1], 0, [3, 5], []),
    ('scalar_location_per_member_scale', [], [2], 0, [2], []),
    ('vector_events_scale_batch', [1, 5], [3, 1], 1, [3], [5]),
    ('vector_events_new_leading_axis', [4, 1, 5], [3, 5], 1, [4, 3], [5]),
    ('image_events_per_channel_scale', [2, 4, 4, 3], [3], 3, [2], [4, 4, 3]),
    ('image_events_scale_batch', [2, 1, 4, 4, 3], [5, 1, 1, 3], 3, [2, 5], [4, 4, 3]),
    ('unbatched_image_scale_batch', [4, 4, 3], [2, 1, 1, 1], 3, [2], [4, 4, 3]),
)
_FAMILIES = (
    ('gaussian', kernels.GaussianSpread, tfd.Normal, stats.norm),
    ('laplace', kernels.LaplaceSpread, tfd.Laplace, stats.laplace),
)


class KernelShapeTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(
      ('gaussian_scalar', kernels.GaussianSpread, [4], 0),
      ('gaussian_vector', kernels.GaussianSpread, [4, 3], 1),
      ('gaussian_image', kernels.GaussianSpread, [2, 8, 8, 3], 3),
      ('laplace_scalar', kernels.LaplaceSpread, [4], 0),
      ('laplace_vector', kernels.LaplaceSpread, [4, 3], 1),
      ('laplace_image', kernels.LaplaceSpread, [2, 8, 8, 3], 3),
  )
  def test_at_has_batch_and_event_shapes_of_loc(self, kernel_cls, loc_shape, event_ndims):
    kernel = kernel_cls(0.5)
    dist = kernel.at(tf.zeros(loc_shape), event_ndims=event_ndims)
    split = len(loc_shape) - event_ndims
    self.assertEqual(dist.batch_shape, loc_shape[:split])
    self.assertEqual(dist.event_shape, loc_shape[split:])
    self.assertEqual(dist.log_prob(tf.ones(loc_shape)).shape, loc_shape[:split])
    self.assertEqual(dist.sample(5, seed=[1, 2]).shape, [5] + loc_shape)

  def test_per_channel_scale_broadcasts_to_image_events(self):
    kernel = kernels.GaussianSpread([0.1, 0.2, 0.3])
    dist = kernel.at(tf.zeros([2, 4, 4, 3]), event_ndims=3)
    self.assertEqual(dist.batch_shape, [2])
    self.assertEqual(dist.event_shape, [4, 4, 3])
    y = kernel.sample_spread(tf.zeros([20000, 3]), seed=[3, 4])
    self.assertAllClose(np.std(y, axis=0), [0.1, 0.2, 0.3], rtol=0.03)


class TfpBroadcastingTest(tf.test.TestCase, parameterized.TestCase):
  """`kernel.at` broadcasts its location and scale as `tfd.Normal` / `tfd.Laplace` do."""

  @parameterized.named_parameters(
      (f'{family[0]}_{case[0]}',) + family[1:] + case[1:]
      for family in _FAMILIES for case in _BROADCAST_CASES)
  def test_at_matches_tfp_distribution_with_same_parameters(
      self, kernel_cls, tfd_cls, scipy_family, loc_shape, scale_shape, event_ndims, batch, event):
    rng = np.random.default_rng(0)
    loc = rng.normal(size=loc_shape).astype(np.float32)
    scale = rng.uniform(0.5, 1.5, size=scale_shape).astype(np.float32)
    dist = kernel_cls(scale).at(loc, event_ndims=event_ndims)
    reference = tfd_cls(loc, scale)
    if event_ndims:
      reference = tfd.Independent(reference, reinterpreted_batch_ndims=event_ndims)
    self.assertEqual(reference.batch_shape, batch)    # The expected shapes are TFP's.
    self.assertEqual(reference.event_shape, event)
    self.assertEqual(dist.batch_shape, batch)
    self.assertEqual(dist.event_shape, event)
    y = rng.normal(size=[2] + batch + event).astype(np.float32)
    log_prob = self.evaluate(dist.log_prob(y))
    self.assertEqual(log_prob.shape, tuple([2] + batch))
    self.assertAllClose(log_prob, reference.log_prob(y), rtol=1e-5)
    # An independent reference: SciPy on explicitly broadcast parameters.
    per_coordinate = scipy_family(np.broadcast_to(loc, batch + event),
                                  np.broadcast_to(scale, batch + event)).logpdf(y)
    want = per_coordinate.sum(axis=tuple(range(-event_ndims, 0))) if event_ndims else per_coordinate
    self.assertAllClose(log_prob, want, rtol=1e-5, atol=1e-5)
    self.assertEqual(dist.sample(3, seed=[1, 2]).shape, [3] + batch + event)
    self.assertEqual(reference.sample(3, seed=[1, 2]).shape, [3] + batch + event)
    self.assertEqual(kernel_cls(scale).batch_shape_at(loc_shape, event_ndims), batch)

  @parameterized.named_parameters(('gaussian', kernels.GaussianSpread, 1.),
                                  ('laplace', kernels.LaplaceSpread, np.sqrt(2.)))
  def test_sample_spread_draws_independent_noise_per_broadcast_member(self, kernel_cls, ratio):
    # A scale [3, 1] spreads data [1, n] to [3, n]: each row its own noise with its own scale.
    scale = np.array([[0.5], [1.], [2.]], np.float32)
    y = self.evaluate(kernel_cls(scale).sample_spread(tf.fill([1, 20000], 1.), seed=[3, 4]))
    self.assertEqual(y.shape, (3, 20000))
    self.assertAllClose(np.std(y, axis=1), ratio * scale[:, 0], rtol=0.03)
    # Rows drawn from one shared noise would be perfectly correlated; independent ones are not
    # (standard error of a correlation over 20000 draws: 0.007).
    self.assertAllClose(np.corrcoef(y), np.eye(3), atol=0.035)


class KernelDensityTest(tf.test.TestCase, parameterized.TestCase):

  def test_scale_with_more_axes_than_event_spans_trailing_batch_axes(self):
    scale = np.array([0.3, 1., 2.], np.float32)
    loc = np.array([[0.1, -2., 1.], [1., 0.5, 0.]], np.float32)     # batch [2, 3], scalar events
    y = np.array([[0.4, -1., 0.], [0., 0., 0.]], np.float32)
    dist = kernels.GaussianSpread(scale).at(loc, event_ndims=0)
    self.assertEqual(dist.batch_shape, [2, 3])
    self.assertEqual(dist.event_shape, [])
    self.assertAllClose(dist.log_prob(y), stats.norm(loc, scale).logpdf(y), rtol=1e-5)

  def test_gaussian_log_prob_matches_scipy(self):
    scale = np.array([0.3, 1.5], np.float32)
    loc = np.array([[0.1, -2.], [1., 0.5]], np.float32)
    y = np.array([[0.4, -1.], [0., 0.]], np.float32)
    got = kernels.GaussianSpread(scale).at(loc).log_prob(y)
    want = stats.norm(loc, scale).logpdf(y).sum(-1)
    self.assertAllClose(got, want, rtol=1e-5)

  def test_laplace_log_prob_matches_scipy(self):
    loc = np.array([[0.1, -2.], [1., 0.5]], np.float32)
    y = np.array([[0.4, -1.], [0., 0.]], np.float32)
    got = kernels.LaplaceSpread(0.7).at(loc).log_prob(y)
    want = stats.laplace(loc, 0.7).logpdf(y).sum(-1)
    self.assertAllClose(got, want, rtol=1e-5)

  @parameterized.named_parameters(
      ('gaussian', kernels.GaussianSpread, 0.8, 0.8),
      ('laplace', kernels.LaplaceSpread, 0.7, 0.7 * np.sqrt(2.)),
  )
  def test_spread_samples_have_kernel_moments(self, kernel_cls, scale, stddev):
    x = tf.fill([50000], 2.)
    y = kernel_cls(scale).sample_spread(x, seed=[5, 6])
    # Standard errors: mean stddev/sqrt(n) ~ 0.004; 5 sigma tolerances.
    self.assertAllClose(np.mean(y), 2., atol=5 * stddev / np.sqrt(50000))
    self.assertAllClose(np.std(y), stddev, rtol=0.02)
    self.assertAllClose(kernel_cls(scale).variance(), stddev**2, rtol=1e-6)


class CharacteristicFunctionTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(
      ('gaussian', kernels.GaussianSpread(0.8), lambda w: np.exp(-0.5 * (0.8 * w)**2)),
      ('laplace', kernels.LaplaceSpread(0.7), lambda w: 1. / (1. + (0.7 * w)**2)),
  )
  def test_characteristic_function_is_closed_form_positive_and_matches_samples(
      self, kernel, closed_form):
    omega = np.linspace(-6., 6., 13).astype(np.float32)
    phi = self.evaluate(kernel.characteristic_function(omega))
    self.assertAllClose(phi, closed_form(omega), rtol=1e-5)
    self.assertAllGreater(phi, 0.)
    self.assertTrue(kernel.is_valid_spread)
    eps = kernel.noise([200000], seed=[7, 8])
    empirical = np.mean(np.cos(omega[:, None] * eps[None, :]), axis=1)
    # |cos| <= 1, so the Monte Carlo standard error is at most 1/sqrt(2e5) ~ 0.0022.
    self.assertAllClose(empirical, phi, atol=0.012)

  def test_vector_characteristic_function_is_product_over_event(self):
    kernel = kernels.GaussianSpread([0.5, 1.])
    omega = tf.constant([[1., 2.]])
    self.assertAllClose(kernel.characteristic_function(omega, event_ndims=1),
                        [np.exp(-0.5 * 0.25) * np.exp(-0.5 * 4.)])


class KernelValidationTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(
      ('zero', 0.), ('negative', -1.), ('negative_entry', [1., -0.5]))
  def test_non_positive_python_scale_raises_naming_scale(self, scale):
    with self.assertRaisesRegex(ValueError, '`scale` must be strictly positive'):
      kernels.GaussianSpread(scale)
    with self.assertRaisesRegex(ValueError, '`scale` must be strictly positive'):
      kernels.LaplaceSpread(scale)

  @parameterized.named_parameters(
      ('numpy', np.array([-1., 1.])),
      ('numpy_scalar', np.float32(0.)),
      ('constant', tf.constant(-1.)),
      ('constant_nan', tf.constant([1., np.nan])),
  )
  def test_statically_known_non_positive_scale_raises_at_once(self, scale):
    with self.assertRaisesRegex(ValueError, '`scale` must be strictly positive'):
      kernels.GaussianSpread(scale)
    with self.assertRaisesRegex(ValueError, '`scale` must be strictly positive'):
      kernels.LaplaceSpread(scale)

  def test_constant_scale_raises_at_once_under_tf_function(self):

    @tf.function
    def make_kernel():
      kernels.GaussianSpread(tf.constant([1., -0.5]))
      return tf.constant(0.)

    with self.assertRaisesRegex(ValueError, '`scale` must be strictly positive'):
      make_kernel()

  def test_symbolic_tensor_scale_raises_under_validate_args(self):

    @tf.function(input_signature=[tf.TensorSpec([], tf.float32)])
    def log_prob(scale):
      kernel = kernels.LaplaceSpread(scale, validate_args=True)
      return kernel.at(tf.zeros([2])).log_prob(tf.zeros([2]))

    self.assertTrue(np.isfinite(self.evaluate(log_prob(tf.constant(1.)))))
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError, '`scale`'):
      self.evaluate(log_prob(tf.constant(-1.)))

  def test_variable_scale_is_checked_at_use_under_validate_args(self):
    scale = tf.Variable(1.)
    kernel = kernels.GaussianSpread(scale, validate_args=True)
    self.evaluate(kernel.sample_spread(tf.zeros([3]), seed=[1, 1]))
    scale.assign(0.)
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError, '`scale`'):
      self.evaluate(kernel.sample_spread(tf.zeros([3]), seed=[1, 1]))

  def test_integer_dtypes_raise_naming_the_argument(self):
    with self.assertRaisesRegex(TypeError, '`scale` must have a floating dtype'):
      kernels.GaussianSpread(tf.constant(1))
    with self.assertRaisesRegex(TypeError, '`scale` must have a floating dtype'):
      kernels.GaussianSpread(np.array([1, 2]))
    with self.assertRaisesRegex(TypeError, '`loc` must have a floating dtype'):
      kernels.GaussianSpread(1.).at(tf.constant([1, 2]))
    with self.assertRaisesRegex(TypeError, '`x` must have a floating dtype'):
      kernels.LaplaceSpread(1.).sample_spread(tf.constant([1, 2]))

  @parameterized.named_parameters(
      ('vector_event_mismatch', [4, 5], [3], 1, r'`scale` of shape \(3,\) does not fit the event '
       r'shape \(5,\) of `loc` \(event_ndims=1\)'),
      # TFP would grow the event to [3]; a kernel keeps the location's event (y lives where x does).
      ('vector_event_would_grow', [4, 1], [3], 1, r'does not fit the event shape \(1,\)'),
      ('image_channel_mismatch', [2, 4, 4, 3], [2], 3, r'does not fit the event shape \(4, 4, 3\)'),
      ('batch_mismatch', [4, 2], [3, 1], 0, r'have batch shapes \(3, 1\) and \(4, 2\) that do '
       'not broadcast'),
      ('location_rank_below_event', [], [1], 1, r'`loc` has rank 0 < event_ndims=1'),
  )
  def test_shapes_that_cannot_line_up_raise_naming_both(self, loc_shape, scale_shape, event_ndims,
                                                        message):
    kernel = kernels.GaussianSpread(np.ones(scale_shape, np.float32))
    with self.assertRaisesRegex(ValueError, message):
      kernel.at(tf.zeros(loc_shape), event_ndims=event_ndims)
    with self.assertRaisesRegex(ValueError, message):
      kernel.batch_shape_at(loc_shape, event_ndims)

  def test_sample_spread_raises_when_data_and_scale_do_not_broadcast(self):
    with self.assertRaisesRegex(ValueError, 'do not broadcast'):
      kernels.LaplaceSpread([1., 2., 3.]).sample_spread(tf.zeros([4, 5]))

  def test_nan_location_raises_under_validate_args(self):
    loc = tf.constant([0., np.nan])
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError, '`loc` must be finite'):
      self.evaluate(kernels.GaussianSpread(1., validate_args=True).at(loc).log_prob([0., 0.]))
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError, '`x` must be finite'):
      self.evaluate(kernels.LaplaceSpread(1., validate_args=True).sample_spread(loc, seed=[1, 2]))

  def test_mixed_float_dtypes_raise(self):
    with self.assertRaisesRegex(TypeError, '`loc` has dtype float64'):
      kernels.GaussianSpread(1.).at(tf.zeros([2], tf.float64))


class KernelCompilationTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(
      ('gaussian', kernels.GaussianSpread), ('laplace', kernels.LaplaceSpread))
  def test_xla_sampling_is_reproducible_with_stateless_seeds(self, kernel_cls):
    kernel = kernel_cls(0.5)

    @tf.function(jit_compile=True)
    def spread_and_score(x, seed):
      y = kernel.sample_spread(x, seed=seed)
      return y, kernel.at(x, event_ndims=1).log_prob(y)

    x = tf.reshape(tf.range(12, dtype=tf.float32), [3, 4])
    y1, lp1 = spread_and_score(x, tf.constant([1, 2]))
    y2, lp2 = spread_and_score(x, tf.constant([1, 2]))
    y3, _ = spread_and_score(x, tf.constant([1, 3]))
    self.assertAllEqual(y1, y2)
    self.assertAllEqual(lp1, lp2)
    self.assertNotAllClose(y1, y3)
    self.assertAllClose(lp1, kernel.at(x, event_ndims=1).log_prob(y1), rtol=1e-5)

  def test_gradient_flows_to_variable_scale(self):
    scale = tf.Variable(0.5)
    kernel = kernels.GaussianSpread(scale)
    with tf.GradientTape() as tape:
      lp = kernel.at(tf.zeros([3])).log_prob(tf.ones([3]))
    grad = tape.gradient(lp, scale)
    # d/ds [-3 log s - 3 / (2 s^2)] = -3/s + 3/s^3.
    self.assertAllClose(grad, -3. / 0.5 + 3. / 0.5**3, rtol=1e-5)


class FactorizedKernelTest(tf.test.TestCase):
  """The three hooks and `variance` are all a new per-coordinate kernel needs."""

  def test_a_new_family_gets_densities_samples_and_closed_form_spreads(self):
    kernel = _LogisticSpread([0.5, 1.])
    loc = np.array([[0.1, -2.], [1., 0.5]], np.float32)
    y = np.array([[0.4, -1.], [0., 0.]], np.float32)
    self.assertAllClose(kernel.at(loc).log_prob(y),
                        stats.logistic(loc, [0.5, 1.]).logpdf(y).sum(-1), rtol=1e-5)
    draws = kernel.sample_spread(tf.zeros([50000, 2]), seed=[1, 2])
    # Standard deviations pi b / sqrt(3) = 0.91, 1.81: 2% is about 4.5 standard errors of a
    # standard deviation estimated from 50,000 logistic draws (kurtosis 4.2).
    self.assertAllClose(np.std(draws, axis=0), np.sqrt(kernel.variance()), rtol=0.02)
    omega = np.array([[0., 0.], [1., -2.]], np.float32)
    empirical = np.mean(np.cos(omega[:, None] * draws.numpy()[None]).prod(-1), axis=1)
    # |cos| <= 1: the Monte Carlo standard error is at most 1/sqrt(5e4) ~ 0.0045.
    self.assertAllClose(kernel.characteristic_function(omega, event_ndims=1), empirical,
                        atol=0.02)
    # Closed forms registered for every FactorizedKernel: Independent of an empirical data set.
    points = np.array([[-1., 0.], [0.5, 2.], [3., 1.]], np.float32)            # N = 3, event [2]
    spread = spreading.spread(tfd.Independent(tfd.Empirical(points.T), 1), kernel)
    self.assertNotIsInstance(spread, spread_distribution.SpreadDistribution)
    per_point = stats.logistic(points.T, np.array([[0.5], [1.]])).logpdf(y[:, :, None])
    self.assertAllClose(spread.log_prob(y),
                        (special.logsumexp(per_point, -1) - np.log(3.)).sum(-1), rtol=1e-5)


if __name__ == '__main__':
  tf.test.main()
