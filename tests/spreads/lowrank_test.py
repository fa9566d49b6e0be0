"""Tests for spreadtf.spreads.lowrank."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from spreadtf.spreads import lowrank
from spreadtf.spreads import stationary

tfd = tfp.distributions


def _dense_reference(kernel, loc, event_ndims):
  """MultivariateNormalTriL on the flattened event, built from the dense covariance."""
  loc = tf.convert_to_tensor(loc)
  batch = loc.shape[:loc.shape.rank - event_ndims].as_list()
  scale_tril = tf.linalg.cholesky(kernel.covariance())
  return tfd.MultivariateNormalTriL(tf.reshape(loc, batch + [kernel.event_size]), scale_tril)


def _raw_with_one_small_direction(condition_number, size=784, rank=20, seed=0):
  """A float32 `[size, rank]` L_raw like the ascent makes: singular values 0.4 down to 0.2 and
  one of 0.4 / condition_number (the mnist5k run's shape, at condition numbers 200-6,000)."""
  rng = np.random.default_rng(seed)
  left, _ = np.linalg.qr(rng.normal(size=(size, rank)))
  right, _ = np.linalg.qr(rng.normal(size=(rank, rank)))
  singular_values = np.linspace(0.4, 0.2, rank)
  singular_values[-1] = 0.4 / condition_number
  return ((left * singular_values) @ right.T).astype(np.float32)


def _gram_cholesky_log_det(raw):
  """log det(L_raw^T L_raw) through a Cholesky factor of the Gram matrix (the earlier method)."""
  chol = tf.linalg.cholesky(tf.linalg.matmul(raw, raw, transpose_a=True))
  return 2. * tf.reduce_sum(tf.math.log(tf.linalg.diag_part(chol)))


class LowRankGaussianSpreadTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(
      dict(testcase_name='rank1_vector', rank=1, batch=[], event=[8], dtype=np.float32),
      dict(testcase_name='rank3_batch', rank=3, batch=[4], event=[16], dtype=np.float32),
      dict(testcase_name='rank5_image', rank=5, batch=[2, 3], event=[4, 4, 3], dtype=np.float32),
      dict(testcase_name='full_rank', rank=6, batch=[5], event=[6], dtype=np.float32),
      dict(testcase_name='rank7_image_float64', rank=7, batch=[3], event=[4, 4, 4],
           dtype=np.float64),
  )
  def test_log_prob_matches_dense_mvn(self, rank, batch, event, dtype):
    size = int(np.prod(event))
    kernel = lowrank.LowRankGaussianSpread(
        scale=0.3, rank=rank, event_size=size, norm=1., seed=1, dtype=dtype)
    rng = np.random.default_rng(0)
    loc = rng.normal(size=batch + event).astype(dtype)
    y = (loc + 0.5 * rng.normal(size=batch + event)).astype(dtype)
    dist = kernel.at(loc, event_ndims=len(event))
    reference = _dense_reference(kernel, loc, len(event))
    expected = reference.log_prob(np.reshape(y, batch + [size]))
    rtol = 1e-10 if dtype == np.float64 else 2e-5
    self.assertAllClose(expected, dist.log_prob(y), rtol=rtol, atol=rtol * size)

  @parameterized.named_parameters(
      dict(testcase_name='vector', batch=[7], event=[12]),
      dict(testcase_name='unbatched_vector', batch=[], event=[12]),
      dict(testcase_name='image', batch=[2, 5], event=[2, 2, 3]),
  )
  def test_static_shapes(self, batch, event):
    kernel = lowrank.LowRankGaussianSpread(0.5, rank=2, event_size=12, seed=0)
    loc = tf.zeros(batch + event)
    dist = kernel.at(loc, event_ndims=len(event))
    self.assertEqual(dist.batch_shape, batch)
    self.assertEqual(dist.event_shape, event)
    self.assertEqual(dist.log_prob(loc).shape, batch)
    self.assertEqual(dist.sample(4, seed=[1, 2]).shape, [4] + batch + event)
    self.assertEqual(kernel.sample_spread(loc, seed=[1, 2]).shape, batch + event)

  def test_sample_covariance_matches_covariance(self):
    # n = 20000 draws in D = 8. An entry of the sample covariance has standard error
    # sqrt((S_ii S_jj + S_ij^2) / n); we allow 5 of them per entry (64 entries, fixed seed).
    size, n = 8, 20000
    kernel = lowrank.LowRankGaussianSpread(0.3, rank=2, event_size=size, norm=1., seed=3)
    x = tf.fill([n, size], 2.)
    y = kernel.sample_spread(x, seed=[7, 11])
    noise = (y - x).numpy().astype(np.float64)
    expected = kernel.covariance().numpy().astype(np.float64)
    standard_error = np.sqrt((np.outer(np.diag(expected), np.diag(expected))
                              + expected**2) / n)
    self.assertAllLessEqual(np.abs(np.cov(noise, rowvar=False) - expected) / standard_error, 5.)
    self.assertAllLessEqual(np.abs(noise.mean(axis=0)) / np.sqrt(np.diag(expected) / n), 5.)
    self.assertAllEqual(x, kernel.spread_mean(x))

  @parameterized.named_parameters(
      dict(testcase_name='rank1', rank=1), dict(testcase_name='rank2', rank=2),
      dict(testcase_name='rank5', rank=5))
  def test_determinant_normalisation_holds_after_changes(self, rank):
    norm, size = 0.1, 40
    kernel = lowrank.LowRankGaussianSpread(0.5, rank=rank, event_size=size, norm=norm, seed=4)
    rng = np.random.default_rng(1)
    for raw in [rng.normal(size=(size, rank)) * 1e-3, rng.normal(size=(size, rank)) * 30.,
                rng.standard_cauchy(size=(size, rank))]:
      kernel.L_raw.assign(raw.astype(np.float32))
      factor = kernel.factor().numpy().astype(np.float64)
      _, log_det = np.linalg.slogdet(factor.T @ factor)
      self.assertAllClose(2 * rank * np.log(norm), log_det, atol=1e-4)
    before = kernel.factor()
    kernel.L_raw.assign(kernel.L_raw * 123.)
    self.assertAllClose(before, kernel.factor(), rtol=1e-5)

  @parameterized.named_parameters(
      # atol: the largest deviation measured over 20 random factors of each condition number
      # (4.5e-4 at 1e4, 7e-3 at 1e5: docs/results.md, "The low-rank spread's normalisation"),
      # times 2.
      dict(testcase_name='cond_1e4', condition_number=1e4, atol=1e-3),
      dict(testcase_name='cond_1e5', condition_number=1e5, atol=1.5e-2),
      # Beyond the floor (cond > 8e5) the constraint is given up: only finiteness is asserted.
      dict(testcase_name='cond_1e9', condition_number=1e9, atol=None),
      dict(testcase_name='duplicated_column', condition_number='duplicate', atol=None),
  )
  def test_nearly_rank_deficient_factor_gives_finite_values_and_gradients(self, condition_number,
                                                                          atol):
    size, rank, norm = 784, 20, 0.1
    if condition_number == 'duplicate':  # Exactly rank-deficient in exact arithmetic.
      raw = _raw_with_one_small_direction(10.)
      raw[:, 7] = raw[:, 3]
    else:
      raw = _raw_with_one_small_direction(condition_number)
    kernel = lowrank.LowRankGaussianSpread(0.3, rank=rank, event_size=size, norm=norm, seed=0)
    kernel.L_raw.assign(raw)
    loc = tf.random.stateless_uniform([8, size], seed=[1, 2])
    y = kernel.sample_spread(loc, seed=[3, 4])
    with tf.GradientTape() as tape:
      log_prob = kernel.at(loc).log_prob(y)
      objective = tf.reduce_sum(log_prob)
    gradient = tape.gradient(objective, kernel.L_raw)
    factor = kernel.factor()
    for name, value in [('factor', factor), ('log_prob', log_prob), ('gradient', gradient),
                        ('samples', y)]:
      self.assertAllEqual(tf.math.is_finite(value), tf.ones_like(value, tf.bool), msg=name)
    singular_values = np.linalg.svd(factor.numpy().astype(np.float64), compute_uv=False)
    log_det = 2. * np.sum(np.log(singular_values))
    if atol is not None:  # det(L^T L) = norm^(2R), the method's constraint, still holds.
      self.assertAllClose(2 * rank * np.log(norm), log_det, atol=atol)
    else:
      self.assertLess(log_det, 2 * rank * np.log(norm))
    # The floor bounds what the lost direction lends the others, a factor (10 eps)^(-1/R) = 2:
    # L's longest direction stays below 0.3 (0.14 with the lost one at 0.2), far from where
    # the density's capacitance stops being factorable (s / sqrt(eps) = 870).
    self.assertLess(singular_values[0], 4. * norm)
    # Negative control: through the Gram's Cholesky log det(G) of these factors is NaN or off by
    # more than 1 nat (1.1 at cond 1e4, 5.5 at 1e5, 18 at 1e9, NaN for the duplicated column).
    earlier = _gram_cholesky_log_det(raw).numpy()
    exact = 2. * np.sum(np.log(np.linalg.svd(raw.astype(np.float64), compute_uv=False)))
    self.assertFalse(np.isfinite(earlier) and abs(earlier - exact) < 1., msg=f'{earlier}')

  def test_log_det_gram_and_its_gradient_near_rank_deficiency(self):
    # cond(L_raw) = 1e4, the mnist5k run's regime: log det(G) against a float64 SVD, and its
    # gradient against the closed form d log det(G) / dL_raw = 2 L_raw G^-1. Both errors grow
    # like eps * cond (1.2e-3 here); the largest over 10 random factors of this shape were
    # 5.3e-4 (log det) and 2.1e-2 (gradient, relative to its largest entry): bounds of about
    # 2.5 times those.
    raw = _raw_with_one_small_direction(1e4, seed=1)
    kernel = lowrank.LowRankGaussianSpread(0.3, rank=20, event_size=784, seed=0)
    kernel.L_raw.assign(raw)
    with tf.GradientTape() as tape:
      log_det = kernel.log_det_gram()
    gradient = tape.gradient(log_det, kernel.L_raw).numpy().astype(np.float64)
    raw64 = raw.astype(np.float64)
    expected = 2. * np.sum(np.log(np.linalg.svd(raw64, compute_uv=False)))
    self.assertAllClose(expected, log_det, atol=1.5e-3)
    closed_form = 2. * raw64 @ np.linalg.inv(raw64.T @ raw64)
    self.assertLess(np.max(np.abs(gradient - closed_form)) / np.max(np.abs(closed_form)), 5e-2)
    self.assertAllClose(kernel.condition_number(), 1e4, rtol=1e-2)

  def test_trace_normalisation_holds_and_bounds_every_direction(self):
    norm, size, rank = 0.1, 40, 5
    kernel = lowrank.LowRankGaussianSpread(0.5, rank=rank, event_size=size, norm=norm, seed=4,
                                           normalization='trace')
    rng = np.random.default_rng(2)
    # Nearly rank one: the determinant form would blow the leading direction up.
    lopsided = rng.normal(size=(size, rank)) * np.array([1e3, 1e-3, 1e-3, 1e-3, 1e-3])
    for raw in [rng.normal(size=(size, rank)) * 1e-3, rng.standard_cauchy(size=(size, rank)),
                lopsided]:
      kernel.L_raw.assign(raw.astype(np.float32))
      factor = kernel.factor().numpy().astype(np.float64)
      self.assertAllClose(np.trace(factor.T @ factor), rank * norm**2, rtol=1e-5)
      self.assertLessEqual(np.linalg.svd(factor, compute_uv=False)[0],
                           np.sqrt(rank) * norm * (1. + 1e-5))
    determinant = lowrank.LowRankGaussianSpread(0.5, rank=rank, event_size=size, norm=norm,
                                                seed=4)
    determinant.L_raw.assign(lopsided.astype(np.float32))
    self.assertGreater(np.linalg.svd(determinant.factor().numpy(), compute_uv=False)[0], 10.)
    # Equal singular values: both normalisations give the same factor.
    orthogonal = np.linalg.qr(rng.normal(size=(size, rank)))[0] * 7.
    kernel.L_raw.assign(orthogonal.astype(np.float32))
    determinant.L_raw.assign(orthogonal.astype(np.float32))
    self.assertAllClose(kernel.factor(), determinant.factor(), rtol=1e-4, atol=1e-6)

  def test_gradients_flow_to_factor_and_loc(self):
    kernel = lowrank.LowRankGaussianSpread(0.5, rank=3, event_size=48, norm=1., seed=5)
    loc = tf.Variable(tf.random.stateless_normal([4, 4, 4, 3], seed=[0, 1]))
    y = tf.random.stateless_normal([4, 4, 4, 3], seed=[0, 2])
    with tf.GradientTape() as tape:
      loss = -tf.reduce_sum(kernel.at(loc, event_ndims=3).log_prob(y))
    grad_raw, grad_loc = tape.gradient(loss, [kernel.L_raw, loc])
    for grad in (grad_raw, grad_loc):
      self.assertIsNotNone(grad)
      self.assertAllEqual(tf.math.is_finite(grad), tf.ones_like(grad, tf.bool))
      self.assertGreater(tf.reduce_max(tf.abs(grad)), 0.)
    # L is invariant to rescaling L_raw, so the gradient is orthogonal to L_raw.
    self.assertAllClose(0., tf.reduce_sum(grad_raw * kernel.L_raw) / (
        tf.norm(grad_raw) * tf.norm(kernel.L_raw)), atol=1e-4)

  def test_trainable_variables_are_the_raw_factor(self):
    kernel = lowrank.LowRankGaussianSpread(0.5, rank=4, event_size=10, seed=0)
    self.assertLen(kernel.trainable_variables, 1)
    self.assertIs(kernel.trainable_variables[0], kernel.L_raw)
    self.assertEqual(kernel.L_raw.shape, [10, 4])
    self.assertIsInstance(kernel, stationary.StationaryKernel)
    self.assertTrue(kernel.is_valid_spread)

  def test_seeds_are_reproducible(self):
    a = lowrank.LowRankGaussianSpread(0.5, rank=2, event_size=6, seed=9)
    b = lowrank.LowRankGaussianSpread(0.5, rank=2, event_size=6, seed=9)
    c = lowrank.LowRankGaussianSpread(0.5, rank=2, event_size=6, seed=10)
    self.assertAllEqual(a.L_raw, b.L_raw)
    self.assertNotAllClose(a.L_raw, c.L_raw)
    x = tf.zeros([3, 6])
    self.assertAllEqual(a.sample_spread(x, seed=[1, 2]), a.sample_spread(x, seed=[1, 2]))
    self.assertNotAllClose(a.sample_spread(x, seed=[1, 2]), a.sample_spread(x, seed=[1, 3]))

  def test_tf_function_and_jit_agree_with_eager(self):
    kernel = lowrank.LowRankGaussianSpread(0.5, rank=3, event_size=48, seed=6)
    loc = tf.random.stateless_normal([5, 4, 4, 3], seed=[3, 4])
    seed = tf.constant([8, 9])

    def step(loc, seed):
      y = kernel.sample_spread(loc, seed=seed)
      return y, kernel.at(loc, event_ndims=3).log_prob(y)

    y_eager, lp_eager = step(loc, seed)
    y_graph, lp_graph = tf.function(step)(loc, seed)
    self.assertAllClose(y_eager, y_graph, atol=1e-6)
    self.assertAllClose(lp_eager, lp_graph, rtol=1e-5)
    # XLA maps a stateless seed to different (equally valid) normals than the TF kernels do, so
    # compare the jitted samples with themselves and the jitted density with the eager one.
    jitted = tf.function(step, jit_compile=True)
    y_jit, lp_jit = jitted(loc, seed)
    self.assertAllEqual(y_jit, jitted(loc, seed)[0])
    self.assertAllClose(kernel.at(loc, event_ndims=3).log_prob(y_jit), lp_jit, rtol=1e-5)

  def test_principal_directions_match_eigendecomposition(self):
    kernel = lowrank.LowRankGaussianSpread(0.5, rank=3, event_size=20, norm=1., seed=7)
    factor = kernel.factor().numpy().astype(np.float64)
    values, vectors = np.linalg.eigh(factor @ factor.T)
    got_values, got_vectors = kernel.principal_directions(2)
    self.assertAllClose(values[::-1][:2], got_values, rtol=1e-4)
    overlap = np.abs(np.sum(vectors[:, ::-1][:, :2] * got_vectors.numpy(), axis=0))
    self.assertAllClose(np.ones(2), overlap, atol=1e-4)
    self.assertEqual(kernel.principal_directions()[1].shape, [20, 3])

  def test_characteristic_function_and_variance(self):
    kernel = lowrank.LowRankGaussianSpread(0.4, rank=2, event_size=12, norm=1., seed=8)
    omega = tf.random.stateless_normal([3, 2, 2, 3], seed=[5, 6])
    cov = kernel.covariance()
    flat = tf.reshape(omega, [3, 12])
    expected = tf.exp(-0.5 * tf.einsum('bi,ij,bj->b', flat, cov, flat))
    phi = kernel.characteristic_function(omega, event_ndims=3)
    self.assertAllClose(expected, phi, rtol=1e-5)
    self.assertAllGreater(phi, 0.)
    self.assertAllClose(tf.linalg.diag_part(cov), kernel.variance(), rtol=1e-6)

  def test_full_size_celeba_event_is_cheap(self):
    # D = 12288: a dense covariance would be 600 MB (and validate_args must not trigger TFP's
    # dense O(D^3) positive-definiteness check); the Woodbury path needs O(D R) memory.
    kernel = lowrank.LowRankGaussianSpread(0.5, rank=10, event_size=64 * 64 * 3, seed=0,
                                           validate_args=True)
    loc = tf.zeros([2, 64, 64, 3])
    y = kernel.sample_spread(loc, seed=[1, 2])
    log_prob = kernel.at(loc, event_ndims=3).log_prob(y)
    self.assertEqual(log_prob.shape, [2])
    self.assertAllEqual(tf.math.is_finite(log_prob), [True, True])

  def test_unknown_normalization_raises(self):
    with self.assertRaisesRegex(ValueError, 'normalization'):
      lowrank.LowRankGaussianSpread(0.5, rank=1, event_size=4, normalization='frobenius')

  def test_invalid_arguments_raise(self):
    with self.assertRaisesRegex(ValueError, 'positive'):
      lowrank.LowRankGaussianSpread(0., rank=1, event_size=4)
    with self.assertRaisesRegex(ValueError, 'rank'):
      lowrank.LowRankGaussianSpread(0.5, rank=0, event_size=4)
    with self.assertRaisesRegex(ValueError, 'rank'):
      lowrank.LowRankGaussianSpread(0.5, rank=5, event_size=4)
    with self.assertRaisesRegex(ValueError, 'scalar'):
      lowrank.LowRankGaussianSpread([0.5, 0.5], rank=1, event_size=2)
    with self.assertRaisesRegex(ValueError, 'norm'):
      lowrank.LowRankGaussianSpread(0.5, rank=1, event_size=4, norm=-1.)
    with self.assertRaises(TypeError):
      lowrank.LowRankGaussianSpread(tf.constant(1, tf.int32), rank=1, event_size=4)
    kernel = lowrank.LowRankGaussianSpread(0.5, rank=1, event_size=12, seed=0)
    with self.assertRaisesRegex(ValueError, 'event_size'):
      kernel.at(tf.zeros([3, 2, 2, 2]), event_ndims=3)
    with self.assertRaisesRegex(ValueError, 'event_size'):
      kernel.sample_spread(tf.zeros([3, 5]), seed=[1, 2])
    with self.assertRaises(TypeError):
      kernel.at(tf.zeros([3, 12], tf.int32))

  def test_validate_args_rejects_non_positive_tensor_scale(self):
    kernel = lowrank.LowRankGaussianSpread(
        tf.Variable(-0.5), rank=1, event_size=4, seed=0, validate_args=True)
    with self.assertRaises(tf.errors.InvalidArgumentError):
      kernel.at(tf.zeros([2, 4])).log_prob(tf.zeros([2, 4]))


if __name__ == '__main__':
  tf.test.main()
