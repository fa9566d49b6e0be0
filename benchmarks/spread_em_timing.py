"""The spreadtf side of the spread-EM benchmark: EM iterations per second on a synthetic problem.

Spread EM as the paper's fig1a runs it (`spreadtf.ica.em` with gamma = 0, the heuristic spread
sigma, S_y = 1 and S_z posterior samples), timed after one untimed iteration that traces the step
and XLA-compiles the log-weights. `benchmarks/reference/numpy_spread_em.py` times the same
estimator in NumPy.
"""

import time

import tensorflow as tf

from spreadtf.ica import data
from spreadtf.ica import em
from spreadtf.ica import mixing_model

__all__ = ['time_em']


def time_em(x_dim=20, z_dim=10, num_points=20000, num_posterior_samples=1000, iterations=3,
            warmup=1, common_random_numbers=True, dtype=tf.float32, seed=0):
  """Times spread-EM iterations.

  Args:
    x_dim: observed dimensions X.
    z_dim: sources Z.
    num_points: data points N.
    num_posterior_samples: S_z, importance samples per point.
    iterations: timed iterations.
    warmup: untimed iterations first (the first traces and compiles).
    common_random_numbers: the E-step sampling scheme (see `spreadtf.ica.em`).
    dtype: float dtype of the data and the estimate.
    seed: problem and sampling seed.

  Returns:
    A dict with `iterations_per_s`.
  """
  problem = data.make_problem(x_dim, z_dim, num_points, 0., seed=seed, dtype=dtype)
  mixing = data.initial_mixing(x_dim, z_dim, seed=seed, dtype=dtype)
  estimator = em.ExpectationMaximization(mixing_model.laplace_source(dtype), spread=True,
                                         num_posterior_samples=num_posterior_samples,
                                         common_random_numbers=common_random_numbers)
  if warmup:
    em.fit(estimator, problem.x, mixing, 0., warmup, seed=seed)
  start = time.perf_counter()
  mixing = em.fit(estimator, problem.x, mixing, 0., iterations, seed=seed + 1)
  elapsed = time.perf_counter() - start
  tf.debugging.assert_all_finite(mixing, 'spread EM diverged in the benchmark')
  return {'iterations_per_s': iterations / elapsed}
