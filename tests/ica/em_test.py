"""Tests for spreadtf.ica.em: the EM freeze, spread EM's escape from it, sampling schemes."""

from absl.testing import parameterized
import gin
import numpy as np
import pytest
from scipy import special
from scipy import stats
import tensorflow as tf
import tensorflow_probability as tfp

from spreadtf.ica import data
from spreadtf.ica import em
from spreadtf.ica import metrics
from spreadtf.ica import mixing_model

tfd = tfp.distributions

_STUDENT_T_DF = 5.
_STUDENT_T_SCALE = float(np.sqrt((_STUDENT_T_DF - 2.) / _STUDENT_T_DF))   # unit variance
_LOGISTIC_SCALE = float(np.sqrt(3.) / np.pi)                              # unit variance


def _student_t_source():
  return tfd.StudentT(tf.constant(_STUDENT_T_DF, tf.float64), tf.constant(0., tf.float64),
                      tf.constant(_STUDENT_T_SCALE, tf.float64))


def _student_t_log_prob(z):
  return stats.t.logpdf(z, _STUDENT_T_DF, scale=_STUDENT_T_SCALE)


def _logistic_source():
  return tfd.Logistic(tf.constant(0., tf.float64), tf.constant(_LOGISTIC_SCALE, tf.float64))


def _logistic_log_prob(z):
  return stats.logistic.logpdf(z, scale=_LOGISTIC_SCALE)


def _laplace_log_prob(z):
  return stats.laplace.logpdf(z, scale=1. / np.sqrt(2.))


def _importance_sampling_statistics(y, mixing, noise_variance, eps, log_prob):
  """Brute-force NumPy self-normalised importance sampling, point by point.

  Args:
    y: `[N, X]`; mixing: `[X, Z]`; noise_variance: scalar; eps: standard normals `[N, S, Z]`;
    log_prob: elementwise source log density.

  Returns:
    `(E[y z^T] [X, Z], E[z z^T] [Z, Z])` averaged over the N points.
  """
  gram_inv = np.linalg.inv(mixing.T @ mixing)
  mean = y @ mixing @ gram_inv                                         # [N, Z]
  scale_tril = np.linalg.cholesky(noise_variance * gram_inv)           # Sigma = L L^T
  z = mean[:, np.newaxis, :] + eps @ scale_tril.T                      # [N, S, Z]
  weights = special.softmax(np.sum(log_prob(z), axis=-1), axis=-1)      # [N, S]
  posterior_mean = np.einsum('ns,nsz->nz', weights, z)
  second = np.einsum('ns,nsi,nsj->ij', weights, z, z)
  return y.T @ posterior_mean / len(y), second / len(y)


def _fit_error(spread, problem, a_init, gamma, iterations, seed, **kwargs):
  estimator = em.ExpectationMaximization(mixing_model.laplace_source(problem.x.dtype),
                                         spread=spread, **kwargs)
  mixing = em.fit(estimator, problem.x, a_init, gamma, iterations, seed)
  return metrics.relative_error(problem.mixing, mixing)


class ExpectationMaximizationTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  def test_standard_em_freezes_at_zero_noise_and_spread_em_moves(self):
    # The EM freeze (see spreadtf/ica/em.py): square invertible A and gamma = 0 give A_{k+1} = A_k.
    problem = data.make_problem(4, 4, 500, 0., seed=3, dtype=tf.float64)
    # The freeze needs an invertible A (a random 4x4 sign matrix is often singular).
    self.assertGreater(abs(np.linalg.det(problem.mixing)), 1.)
    a_init = data.initial_mixing(4, 4, seed=3, dtype=tf.float64)
    seed = tf.constant([0, 1])
    zero = tf.constant(0., tf.float64)
    standard = em.ExpectationMaximization(mixing_model.laplace_source(tf.float64), spread=False,
                                          num_posterior_samples=100)
    new_mixing, sigma = standard.step(problem.x, a_init, zero, seed)
    self.assertEqual(float(sigma), 0.)
    self.assertAllClose(new_mixing, a_init, rtol=1e-11, atol=1e-12)
    spread = em.ExpectationMaximization(mixing_model.laplace_source(tf.float64), spread=True,
                                        num_posterior_samples=100)
    new_mixing, sigma = spread.step(problem.x, a_init, zero, seed)
    self.assertGreater(float(sigma), 0.)
    self.assertGreater(float(tf.reduce_max(tf.abs(new_mixing - a_init))), 0.05)

  def test_spread_em_recovers_mixing_where_standard_em_freezes(self):
    # Demo size (gin/ica/demo.gin): X = 10, Z = 5, N = 2000, gamma = 0.01, S_z = 1000.
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
    source = mixing_model.laplace_source(tf.float64)
    whole, _ = em.ExpectationMaximization(source, chunk_size=1000).step(*args)
    chunked, _ = em.ExpectationMaximization(source, chunk_size=7).step(*args)
    self.assertAllClose(whole, chunked, rtol=1e-10)

  def test_step_is_deterministic_in_seed(self):
    problem = data.make_problem(5, 3, 100, 0.1, seed=4)
    a_init = data.initial_mixing(5, 3, seed=4)
    estimator = em.ExpectationMaximization(mixing_model.laplace_source(), num_posterior_samples=50)
    first, _ = estimator.step(problem.x, a_init, 0.1, tf.constant([1, 2]))
    second, _ = estimator.step(problem.x, a_init, 0.1, tf.constant([1, 2]))
    third, _ = estimator.step(problem.x, a_init, 0.1, tf.constant([1, 3]))
    self.assertAllEqual(first, second)
    self.assertNotAllClose(first, third)

  @parameterized.product(
      prior=[('student_t', _student_t_source, _student_t_log_prob),
             ('logistic', _logistic_source, _logistic_log_prob)],
      common_random_numbers=[True, False])
  def test_expectations_match_brute_force_importance_sampling(self, prior,
                                                               common_random_numbers):
    _, make_source, log_prob = prior
    rng = np.random.default_rng(7)
    num_points, num_samples, z_dim = 30, 400, 2
    mixing = rng.standard_normal((4, z_dim))
    y = 2. * rng.standard_normal((num_points, 4))
    noise_variance, seed = 1.5, tf.constant([7, 8])
    if common_random_numbers:   # one [S, Z] draw from `seed`, shared by all points (3 chunks)
      chunk_size = 11
      eps = tf.random.stateless_normal([num_samples, z_dim], seed, dtype=tf.float64).numpy()
      eps = np.broadcast_to(eps, (num_points, num_samples, z_dim))
    else:                       # one chunk: [N, S, Z] draws from stateless_fold_in(seed, 0)
      chunk_size = num_points
      eps = tf.random.stateless_normal(
          [num_points, num_samples, z_dim], tf.random.experimental.stateless_fold_in(seed, 0),
          dtype=tf.float64).numpy()
    estimator = em.ExpectationMaximization(
        make_source(), num_posterior_samples=num_samples, chunk_size=chunk_size,
        common_random_numbers=common_random_numbers)
    cross, second = estimator.expectations(tf.constant(y), tf.constant(mixing),
                                           tf.constant(noise_variance, tf.float64), seed)
    expected_cross, expected_second = _importance_sampling_statistics(
        y, mixing, noise_variance, eps, log_prob)
    # Same draws, float64: only summation order differs.
    self.assertAllClose(cross, expected_cross, rtol=1e-9, atol=1e-10)
    self.assertAllClose(second, expected_second, rtol=1e-9, atol=1e-10)
    # The comparison can tell priors apart: with a flat prior (weights ignored) or the default
    # Laplace prior, the reference moves by far more than the tolerance above.
    for other_log_prob in (np.zeros_like, _laplace_log_prob):
      _, other_second = _importance_sampling_statistics(y, mixing, noise_variance, eps,
                                                        other_log_prob)
      self.assertGreater(np.max(np.abs(other_second - expected_second)), 0.1)

  def test_independent_draws_chunking_keeps_statistics_at_zero_noise(self):
    # Without common random numbers chunk k draws from stateless_fold_in(seed, k), so chunk sizes
    # change the draws and equal statistics for equal seeds are not expected at noise > 0 (see
    # the em module docstring). With zero noise variance the posterior is a point mass at mu(y)
    # and the draws drop out, so every chunking must give the same statistics: this checks that
    # chunks, including a ragged last chunk, are each counted exactly once.
    problem = data.make_problem(5, 3, 100, 0., seed=4, dtype=tf.float64)
    a_init = data.initial_mixing(5, 3, seed=4, dtype=tf.float64)
    args = (problem.x, a_init, tf.constant(0., tf.float64), tf.constant([3, 4]))
    source = mixing_model.laplace_source(tf.float64)
    results = [em.ExpectationMaximization(source, num_posterior_samples=20, chunk_size=size,
                                          common_random_numbers=False).expectations(*args)
               for size in (1000, 7, 1)]
    for cross, second in results[1:]:
      self.assertAllClose(cross, results[0][0], rtol=1e-12, atol=1e-12)
      self.assertAllClose(second, results[0][1], rtol=1e-12, atol=1e-12)
    # The point mass: E[y z^T] = x^T mu / N with mu = x A (A^T A)^-1 = x pinv(A)^T.
    mean = problem.x.numpy() @ np.linalg.pinv(a_init.numpy()).T
    self.assertAllClose(results[0][0], problem.x.numpy().T @ mean / 100., rtol=1e-10)
    self.assertAllClose(results[0][1], mean.T @ mean / 100., rtol=1e-10)

  @parameterized.named_parameters(('float32', np.float32), ('float64', np.float64))
  def test_fit_rejects_exactly_dependent_initial_column_before_iterating(self, dtype):
    # Column 4 = 0.3 col 0 + 0.7 col 1. Rounding leaves cond(A) ~ 8e7 in float32 (a fixed 1e8
    # threshold accepted it, then Cholesky of A^T A failed inside the first step) and ~2e16 in
    # float64.
    mixing = np.random.default_rng(6).standard_normal((10, 5)).astype(dtype)
    mixing[:, 4] = 0.3 * mixing[:, 0] + 0.7 * mixing[:, 1]
    x = data.make_problem(10, 5, 50, 0.1, seed=0, dtype=tf.as_dtype(dtype)).x
    estimator = em.ExpectationMaximization(mixing_model.laplace_source(tf.as_dtype(dtype)),
                                           num_posterior_samples=10)
    calls = []
    with self.assertRaisesRegex(ValueError, 'singular'):
      em.fit(estimator, x, mixing, 0.1, 3, seed=0, callback=lambda *a: calls.append(a))
    self.assertEmpty(calls)

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
    estimator = em.ExpectationMaximization(mixing_model.laplace_source(), num_posterior_samples=10)
    with self.assertRaisesRegex(ValueError, message):
      em.fit(estimator, x, mixing, gamma, 3, seed=0, callback=lambda *a: calls.append(a))
    self.assertEmpty(calls)

  def test_fit_rejects_source_of_another_dtype(self):
    problem = data.make_problem(4, 2, 20, 0.1, seed=0)
    estimator = em.ExpectationMaximization(mixing_model.laplace_source(tf.float64))
    with self.assertRaisesRegex(ValueError, 'dtype float64'):
      em.fit(estimator, problem.x, data.initial_mixing(4, 2, seed=0), 0.1, 1, seed=0)

  @parameterized.named_parameters(
      ('zero_samples', dict(num_posterior_samples=0), '`num_posterior_samples` must be a positive'),
      ('negative_spread', dict(spread_scale=-1.), 'fixed `spread_scale` must be > 0, got -1.0'),
      ('zero_spread', dict(spread_scale=0.), 'fixed `spread_scale` must be > 0, got 0.0'),
      ('nan_spread', dict(spread_scale=float('nan')), 'fixed `spread_scale` must be > 0, got nan'))
  def test_rejects_bad_options(self, options, message):
    with self.assertRaisesRegex(ValueError, message):
      em.ExpectationMaximization(mixing_model.laplace_source(), **options)

  @pytest.mark.slow
  def test_common_random_numbers_match_independent_draws_on_demo_size(self):
    # Compared once both have converged: how long that takes varies between draws (seed 0:
    # about 250 iterations with common draws, 350 with independent ones; 0.059 vs 0.099 at 300).
    problem = data.make_problem(10, 5, 2000, 0.01, seed=0)
    a_init = data.initial_mixing(10, 5, seed=0)
    shared = _fit_error(True, problem, a_init, 0.01, 500, seed=0, common_random_numbers=True)
    independent = _fit_error(True, problem, a_init, 0.01, 500, seed=0,
                             common_random_numbers=False)
    self.assertLess(shared, 0.1)
    self.assertLess(independent, 0.1)
    self.assertLess(abs(shared - independent), 0.03)


if __name__ == '__main__':
  tf.test.main()
