"""Tests for spreadtf.ica.em: the EM freeze, spread EM's escape from it, sampling schemes."""

from absl.testing import parameterized
import gin
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from spreadtf.ica import data
from spreadtf.ica import em
from spreadtf.ica import metrics
from spreadtf.ica import model

tfd = tfp.distributions


def _fit_error(spread, problem, a_init, gamma, iterations, seed, **kwargs):
  estimator = em.ExpectationMaximization(model.laplace_source(problem.x.dtype), spread=spread,
                                         **kwargs)
  mixing = em.fit(estimator, problem.x, a_init, gamma, iterations, seed)
  return metrics.relative_error(problem.mixing, mixing)


class ExpectationMaximizationTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  def test_standard_em_freezes_at_zero_noise_and_spread_em_moves(self):
    # paper.md section 2.2 / 5 item 4: square invertible A and gamma = 0 give A_{k+1} = A_k.
    problem = data.make_problem(4, 4, 500, 0., seed=0, dtype=tf.float64)
    a_init = data.initial_mixing(4, 4, seed=0, dtype=tf.float64)
    seed = tf.constant([0, 1])
    zero = tf.constant(0., tf.float64)
    standard = em.ExpectationMaximization(model.laplace_source(tf.float64), spread=False,
                                          num_posterior_samples=100)
    new_mixing, sigma = standard.step(problem.x, a_init, zero, seed)
    self.assertEqual(float(sigma), 0.)
    self.assertAllClose(new_mixing, a_init, rtol=1e-11, atol=1e-12)
    spread = em.ExpectationMaximization(model.laplace_source(tf.float64), spread=True,
                                        num_posterior_samples=100)
    new_mixing, sigma = spread.step(problem.x, a_init, zero, seed)
    self.assertGreater(float(sigma), 0.)
    self.assertGreater(float(tf.reduce_max(tf.abs(new_mixing - a_init))), 0.05)

  def test_spread_em_recovers_mixing_where_standard_em_freezes(self):
    # Demo size (paper.md section 6): X = 10, Z = 5, N = 2000, gamma = 0.01, S_z = 1000.
    problem = data.make_problem(10, 5, 2000, 0.01, seed=1)
    a_init = data.initial_mixing(10, 5, seed=1)
    self.assertLess(_fit_error(True, problem, a_init, 0.01, 250, seed=1), 0.1)
    self.assertGreater(_fit_error(False, problem, a_init, 0.01, 250, seed=1), 1.)

  @parameterized.named_parameters(
      ('common_random_numbers', dict(common_random_numbers=True)),
      ('independent_draws', dict(common_random_numbers=False)),
      ('fixed_spread_two_spread_samples', dict(spread_scale=1., num_spread_samples=2)),
      ('small_chunks_no_xla', dict(chunk_size=37, jit_compile=False)))
  def test_options_reduce_error_on_non_square_problem(self, options):
    problem = data.make_problem(6, 3, 300, 0., seed=2)
    a_init = data.initial_mixing(6, 3, seed=2)
    start = metrics.relative_error(problem.mixing, a_init)
    error = _fit_error(True, problem, a_init, 0., 40, seed=2, num_posterior_samples=200,
                       **options)
    self.assertLess(error, 0.8 * start)

  def test_chunking_does_not_change_the_step(self):
    problem = data.make_problem(5, 3, 100, 0.1, seed=4, dtype=tf.float64)
    a_init = data.initial_mixing(5, 3, seed=4, dtype=tf.float64)
    args = (problem.x, a_init, tf.constant(0.1, tf.float64), tf.constant([3, 4]))
    source = model.laplace_source(tf.float64)
    whole, _ = em.ExpectationMaximization(source, chunk_size=1000).step(*args)
    chunked, _ = em.ExpectationMaximization(source, chunk_size=7).step(*args)
    self.assertAllClose(whole, chunked, rtol=1e-10)

  def test_step_is_deterministic_in_seed(self):
    problem = data.make_problem(5, 3, 100, 0.1, seed=4)
    a_init = data.initial_mixing(5, 3, seed=4)
    estimator = em.ExpectationMaximization(model.laplace_source(), num_posterior_samples=50)
    first, _ = estimator.step(problem.x, a_init, 0.1, tf.constant([1, 2]))
    second, _ = estimator.step(problem.x, a_init, 0.1, tf.constant([1, 2]))
    third, _ = estimator.step(problem.x, a_init, 0.1, tf.constant([1, 3]))
    self.assertAllEqual(first, second)
    self.assertNotAllClose(first, third)

  def test_pluggable_source_prior(self):
    source = tfd.Logistic(0., float(np.sqrt(3.) / np.pi))   # unit variance, non-Gaussian
    problem = data.make_problem(6, 3, 300, 0., seed=5, source=source)
    a_init = data.initial_mixing(6, 3, seed=5)
    estimator = em.ExpectationMaximization(source, num_posterior_samples=200)
    mixing = em.fit(estimator, problem.x, a_init, 0., 5, seed=5)
    self.assertAllEqual(mixing.shape, [6, 3])
    self.assertTrue(np.all(np.isfinite(mixing)))

  @parameterized.named_parameters(
      ('nan_data', 'nan', 'NaN'), ('x_less_than_z', 'x_lt_z', 'X < Z'),
      ('singular_initial_mixing', 'singular', 'singular'), ('negative_gamma', 'gamma', 'gamma'))
  def test_fit_rejects_bad_input_before_iterating(self, problem_kind, message):
    x = np.random.default_rng(0).standard_normal((40, 4)).astype(np.float32)
    mixing = np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)
    gamma = 0.1
    if problem_kind == 'nan':
      x[0, 0] = np.nan
    elif problem_kind == 'x_lt_z':
      x, mixing = x[:, :2], mixing[:2]
    elif problem_kind == 'singular':
      mixing[:, 1] = mixing[:, 0]
    else:
      gamma = -0.5
    calls = []
    estimator = em.ExpectationMaximization(model.laplace_source(), num_posterior_samples=10)
    with self.assertRaisesRegex(ValueError, message):
      em.fit(estimator, x, mixing, gamma, 3, seed=0, callback=lambda *a: calls.append(a))
    self.assertEmpty(calls)

  def test_fit_rejects_source_of_another_dtype(self):
    problem = data.make_problem(4, 2, 20, 0.1, seed=0)
    estimator = em.ExpectationMaximization(model.laplace_source(tf.float64))
    with self.assertRaisesRegex(ValueError, 'dtype float64'):
      em.fit(estimator, problem.x, data.initial_mixing(4, 2, seed=0), 0.1, 1, seed=0)

  @parameterized.named_parameters(('zero_samples', dict(num_posterior_samples=0)),
                                  ('negative_spread', dict(spread_scale=-1.)))
  def test_rejects_bad_options(self, options):
    with self.assertRaises(ValueError):
      em.ExpectationMaximization(model.laplace_source(), **options)

  @pytest.mark.slow
  def test_common_random_numbers_match_independent_draws_on_demo_size(self):
    problem = data.make_problem(10, 5, 2000, 0.01, seed=0)
    a_init = data.initial_mixing(10, 5, seed=0)
    shared = _fit_error(True, problem, a_init, 0.01, 300, seed=0, common_random_numbers=True)
    independent = _fit_error(True, problem, a_init, 0.01, 300, seed=0,
                             common_random_numbers=False)
    self.assertLess(shared, 0.1)
    self.assertLess(independent, 0.1)
    self.assertLess(abs(shared - independent), 0.03)


if __name__ == '__main__':
  tf.test.main()
