"""The NumPy reference computes spreadtf's spread-EM step: equal A given the same random draws."""

import json
import os
import subprocess
import sys

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from benchmarks import references
from benchmarks.reference import numpy_spread_em
from spreadtf.ica import data
from spreadtf.ica import em
from spreadtf.ica import mixing_model
from spreadtf.spreads import kernels

_N, _X, _Z, _S, _CHUNK = 50, 4, 2, 30, 20   # three chunks, the last one short


def _spreadtf_draws(seed, spread, common_random_numbers):
  """The standard normals `em.ExpectationMaximization.step(..., seed)` draws, in NumPy's order.

  The step splits its seed into (spread seed, sample seed); the spread noise is the Gaussian
  kernel's base noise, the proposals one `[S, Z]` set (common random numbers) or one
  `[rows, S, Z]` set per chunk k from fold_in(sample seed, k).
  """
  spread_seed, sample_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
  draws = []
  if spread:
    draws.append(kernels.GaussianSpread(tf.constant(1., tf.float64)).noise(
        [_N, _X], seed=spread_seed))
  if common_random_numbers:
    draws.append(tf.random.stateless_normal([_S, _Z], sample_seed, dtype=tf.float64))
  else:
    for k, start in enumerate(range(0, _N, _CHUNK)):
      draws.append(tf.random.stateless_normal(
          [min(_CHUNK, _N - start), _S, _Z],
          tf.random.experimental.stateless_fold_in(sample_seed, k), dtype=tf.float64))
  return [d.numpy() for d in draws]


class NumpySpreadEmTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(
      ('spread_em_common_random_numbers', True, True, 0.),
      ('spread_em_independent_draws', True, False, 0.),
      ('standard_em_common_random_numbers', False, True, 0.3),
      ('standard_em_independent_draws', False, False, 0.3))
  def test_step_equals_spreadtf_step_given_the_same_draws(self, spread, common, gamma):
    problem = data.make_problem(_X, _Z, _N, gamma, seed=3, dtype=tf.float64)
    mixing = data.initial_mixing(_X, _Z, seed=3, dtype=tf.float64)
    seed = tf.constant([7, 11], tf.int32)
    estimator = em.ExpectationMaximization(
        mixing_model.laplace_source(tf.float64), spread=spread, num_posterior_samples=_S,
        chunk_size=_CHUNK, common_random_numbers=common)
    expected_mixing, expected_sigma = estimator.step(problem.x, mixing, tf.constant(
        gamma, tf.float64), seed)

    draws = iter(_spreadtf_draws(seed, spread, common))

    def standard_normal(shape, dtype):
      draw = next(draws)
      self.assertEqual(draw.shape, tuple(shape))
      return draw.astype(dtype)

    new_mixing, sigma = numpy_spread_em.em_step(
        problem.x.numpy(), mixing.numpy(), gamma, standard_normal, _S, chunk_size=_CHUNK,
        common_random_numbers=common, spread=spread)
    self.assertIsNone(next(draws, None), 'the NumPy step used fewer draws than spreadtf')
    self.assertAllClose(sigma, expected_sigma, rtol=1e-12, atol=0.)
    # Float64 and the same draws: only the order of operations differs (spreadtf solves with a
    # Cholesky factor, NumPy inverts; the softmax and matmuls differ). Measured: <= 2e-15 for
    # entries of order 1; a 1% change of the Laplace scale moves A by 3e-4.
    self.assertAllClose(new_mixing, expected_mixing, rtol=1e-11, atol=1e-11)
    self.assertGreater(np.max(np.abs(new_mixing - mixing.numpy())), 1e-3)   # the step moved A

  def test_float32_step_stays_close_to_float64(self):
    x, _, mixing = numpy_spread_em.make_problem(_X, _Z, 500, seed=0, dtype=np.float64)
    results = []
    for dtype in (np.float64, np.float32):
      rng = np.random.default_rng(1)   # the same draws, rounded to `dtype`

      def normal(shape, dtype, rng=rng):
        return rng.standard_normal(shape).astype(dtype)

      results.append(numpy_spread_em.em_step(
          x.astype(dtype), mixing.astype(dtype), 0., normal, 200)[0])
    self.assertEqual(results[1].dtype, np.float32)
    self.assertAllClose(results[1], results[0], rtol=1e-3, atol=1e-3)

  @parameterized.named_parameters(('common_random_numbers', []),
                                  ('independent_draws', ['--independent_draws']))
  def test_script_prints_a_positive_rate(self, extra):
    out = subprocess.run(
        [sys.executable, os.path.join(references.REFERENCE_DIR, 'numpy_spread_em.py'),
         '--num_points=300', '--num_posterior_samples=20', '--iterations=2', *extra],
        capture_output=True, text=True, timeout=120, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    self.assertGreater(result['iterations_per_s'], 0.)
    self.assertTrue(result['finite'])
    self.assertEqual(result['common_random_numbers'], not extra)


if __name__ == '__main__':
  tf.test.main()
