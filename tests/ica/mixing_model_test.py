"""Tests for spreadtf.ica.mixing_model and spreadtf.ica.data."""

from absl.testing import parameterized
import gin
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from spreadtf import seeding
from spreadtf.ica import data
from spreadtf.ica import mixing_model

tfd = tfp.distributions


class ModelTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  def test_laplace_source_has_unit_variance(self):
    source = mixing_model.laplace_source(tf.float64)
    self.assertEqual(source.batch_shape, [])
    self.assertAllClose(source.variance(), 1.)

  def test_heuristic_spread_scale_for_sign_matrices(self):
    # sigma = 2.5 sqrt(mean(A A^T)) is about 1.7 for +-1 A with X = 20, Z = 10; never NaN.
    scales = [mixing_model.heuristic_spread_scale(
        data.make_problem(20, 10, 1, 0., seed=s).mixing).numpy() for s in range(20)]
    self.assertBetween(np.mean(scales), 1.4, 2.1)
    self.assertAllClose(mixing_model.heuristic_spread_scale(tf.zeros([3, 2])), 1e-3)

  def test_rejects_vector_source(self):
    with self.assertRaisesRegex(ValueError, 'scalar'):
      mixing_model.check_source(tfd.Laplace(tf.zeros([3]), 1.))


class CheckInputsTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)
    rng = np.random.default_rng(0)
    self.x = rng.standard_normal((50, 4))
    self.mixing = rng.standard_normal((4, 3))

  def test_accepts_valid_problem(self):
    mixing_model.check_inputs(self.x, self.mixing, 0.)

  def test_rejects_nan_data(self):
    self.x[3, 1] = np.nan
    with self.assertRaisesRegex(ValueError, 'NaN'):
      mixing_model.check_inputs(self.x, self.mixing, 0.1)

  def test_rejects_fewer_observed_than_latent(self):
    with self.assertRaisesRegex(ValueError, 'X < Z'):
      mixing_model.check_inputs(self.x[:, :2], self.mixing[:2], 0.1)

  def test_rejects_singular_initial_mixing(self):
    self.mixing[:, 2] = 2. * self.mixing[:, 0]
    with self.assertRaisesRegex(ValueError, 'singular'):
      mixing_model.check_inputs(self.x, self.mixing, 0.1)

  @parameterized.named_parameters(('float32', np.float32), ('float64', np.float64))
  def test_rejects_exactly_dependent_column_in_data_dtype(self, dtype):
    # Rounding leaves cond(A) ~ 8e7 in float32, which a fixed 1e8 threshold accepted.
    mixing = np.random.default_rng(6).standard_normal((10, 5)).astype(dtype)
    mixing[:, 4] = 0.3 * mixing[:, 0] + 0.7 * mixing[:, 1]
    x = np.random.default_rng(1).standard_normal((50, 10)).astype(dtype)
    with self.assertRaisesRegex(ValueError, 'singular'):
      mixing_model.check_inputs(x, mixing, 0.1)

  @parameterized.named_parameters(('float32', tf.float32), ('float64', tf.float64))
  def test_accepts_well_conditioned_sign_matrix(self, dtype):
    problem = data.make_problem(10, 5, 50, 0.1, seed=0, dtype=dtype)
    self.assertLess(np.linalg.cond(problem.mixing.numpy()), 10.)   # precondition
    mixing_model.check_inputs(problem.x, problem.mixing, 0.1)

  def test_condition_threshold_follows_the_data_dtype(self):
    # cond(A) = 1e4: cond(A^T A) = 1e8 is about 1 / eps for float32 (a float32 step is then off
    # by tens of percent) but tiny against 1 / eps for float64.
    u, _, vt = np.linalg.svd(np.random.default_rng(2).standard_normal((10, 5)),
                             full_matrices=False)
    mixing = (u * np.geomspace(1., 1e-4, 5)) @ vt
    x = np.random.default_rng(3).standard_normal((50, 10))
    mixing_model.check_inputs(x, mixing, 0.1)
    with self.assertRaisesRegex(ValueError, 'singular.*float32'):
      mixing_model.check_inputs(x.astype(np.float32), mixing.astype(np.float32), 0.1)

  def test_rejects_negative_gamma(self):
    with self.assertRaisesRegex(ValueError, 'gamma'):
      mixing_model.check_inputs(self.x, self.mixing, -0.1)


class DataTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  @parameterized.named_parameters(('float32', tf.float32), ('float64', tf.float64))
  def test_problem_shapes_and_statistics(self, dtype):
    problem = data.make_problem(6, 3, 20000, 0., seed=3, dtype=dtype)
    self.assertEqual(problem.x.shape, [20000, 6])
    self.assertEqual(problem.x.dtype, dtype)
    self.assertAllEqual(tf.abs(problem.mixing), tf.ones([6, 3], dtype))
    self.assertAllClose(tf.math.reduce_variance(problem.sources, axis=0), tf.ones([3]),
                        atol=0.06)
    self.assertAllClose(problem.x, tf.matmul(problem.sources, problem.mixing, transpose_b=True))

  def test_problem_is_deterministic_in_seed(self):
    first = data.make_problem(5, 2, 10, 0.1, seed=7)
    second = data.make_problem(5, 2, 10, 0.1, seed=7)
    self.assertAllEqual(first.x, second.x)
    self.assertNotAllClose(first.x, data.make_problem(5, 2, 10, 0.1, seed=8).x)

  def test_draws_come_from_named_sub_seeds_of_the_run_seed(self):
    problem = data.make_problem(5, 3, 10, 0.1, seed=7)
    signs = tf.random.stateless_uniform([5, 3], [seeding.sub_seed(7, 'mixing'), 0], maxval=2,
                                        dtype=tf.int32)
    self.assertAllEqual(problem.mixing, tf.cast(2 * signs - 1, tf.float32))
    noise = tf.random.stateless_normal([10, 5], [seeding.sub_seed(7, 'noise'), 0])
    self.assertAllClose(problem.x - tf.matmul(problem.sources, problem.mixing, transpose_b=True),
                        0.1 * noise, atol=1e-6)
    self.assertAllEqual(data.initial_mixing(5, 3, seed=7), tf.random.stateless_normal(
        [5, 3], [seeding.sub_seed(7, 'initial_mixing'), 0]))


if __name__ == '__main__':
  tf.test.main()
