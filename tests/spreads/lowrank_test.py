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
