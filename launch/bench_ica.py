"""Times spread-EM iterations/s at fig1a size against the NumPy reference workload.

`run(...)` is called by launch/benchmark.py; `python launch/bench_ica.py` prints the same dict as
one JSON line. The reference, ../shared/bench/numpy_spread_em.py from the repo root, runs in a
subprocess with this Python; it is skipped with a message if absent.
"""

import json
import os
import subprocess
import sys
import time

import tensorflow as tf

from spreadtf.ica import data
from spreadtf.ica import em
from spreadtf.ica import model

__all__ = ['run', 'REFERENCE']

REFERENCE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         os.pardir, 'shared', 'bench', 'numpy_spread_em.py')


def _reference(x_dim, z_dim, n, s_z):
  if not os.path.exists(REFERENCE):
    print(f'bench_ica: NumPy reference {REFERENCE} not found; skipping the comparison.')
    return None
  out = subprocess.run(
      [sys.executable, REFERENCE, '--iters', '2', '--x_dim', str(x_dim), '--z_dim', str(z_dim),
       '--n', str(n), '--s_z', str(s_z)], capture_output=True, text=True, check=True)
  return json.loads(out.stdout.strip().splitlines()[-1])['iterations_per_s']


def run(x_dim=20, z_dim=10, n=20000, s_z=1000, iters=3, reference=True,
        common_random_numbers=True, dtype=tf.float32):
  """Measures spread-EM iterations/s (gamma = 0, heuristic sigma, S_y = 1).

  Args:
    x_dim: observed dimensions X.
    z_dim: sources Z.
    n: data points N.
    s_z: posterior importance samples S_z.
    iters: timed iterations, after one untimed warm-up step (tracing and XLA compilation).
    reference: also time the NumPy reference (2 iterations) and report the ratio.
    common_random_numbers: the E-step sampling scheme (see spreadtf/ica/em.py).
    dtype: float dtype.

  Returns:
    A dict with `iterations_per_s` and, if the reference ran, `reference_iterations_per_s` and
    `speedup` (ours / NumPy).
  """
  problem = data.make_problem(x_dim, z_dim, n, 0., seed=0, dtype=dtype)
  mixing = data.initial_mixing(x_dim, z_dim, seed=0, dtype=dtype)
  estimator = em.ExpectationMaximization(model.laplace_source(dtype), spread=True,
                                         num_posterior_samples=s_z,
                                         common_random_numbers=common_random_numbers)
  em.fit(estimator, problem.x, mixing, 0., 1, seed=0)
  start = time.perf_counter()
  em.fit(estimator, problem.x, mixing, 0., iters, seed=1)
  result = {'impl': 'spreadtf', 'task': 'spread_em', 'x_dim': x_dim, 'z_dim': z_dim, 'n': n,
            's_z': s_z, 'common_random_numbers': common_random_numbers,
            'iterations_per_s': iters / (time.perf_counter() - start)}
  if reference:
    reference_rate = _reference(x_dim, z_dim, n, s_z)
    if reference_rate is not None:
      result['reference_iterations_per_s'] = reference_rate
      result['speedup'] = result['iterations_per_s'] / reference_rate
  return result


if __name__ == '__main__':
  print(json.dumps(run()))
