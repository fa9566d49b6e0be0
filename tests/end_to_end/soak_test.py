"""Soak: a long MNIST-MLP run (5,000 real digits) whose resident memory stays flat.

`launch/train.py` trains the MNIST MLP delta-VAE on mnist5k for `_NUM_STEPS` steps with an
evaluation, TensorBoard summaries, a sample grid and a checkpoint (with the input position)
every 40-step epoch, while this test samples the process's resident set size (VmRSS) once a
second. After the first quarter of the run (tracing, first checkpoints, allocator warm-up) the
RSS must not grow by more than `_MAX_GROWTH_MB`; the numbers are printed (pytest -s) and written
to `<workdir>/rss.json`.
"""

import json
import os
import subprocess
import sys
import time

from absl.testing import parameterized
import gin
import numpy as np
import pytest
import tensorflow as tf

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_NUM_STEPS = 20000  # steps: 500 epochs of mnist5k, 2 million examples
_MAX_GROWTH_MB = 40.


def _rss_mb(pid):
  with open(f'/proc/{pid}/status') as f:
    for line in f:
      if line.startswith('VmRSS:'):
        return int(line.split()[1]) / 1024.
  raise AssertionError('no VmRSS')


@pytest.mark.slow
class SoakTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  def test_resident_memory_stays_flat_over_a_long_mnist_run(self):
    workdir = self.create_tempdir().full_path
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
    proc = subprocess.Popen(
        [sys.executable, os.path.join(_REPO, 'launch', 'train.py'), f'--workdir={workdir}',
         '--gin_file=mnist/delta_vae_gaussian.gin', '--gin_file=data/mnist5k.gin',
         '--gin_bindings=train.seed=0', f'--gin_bindings=train.num_steps={_NUM_STEPS}',
         # mnist5k.gin stops a run once its test ELBO stalls (about 6,000 steps): not here.
         '--gin_bindings=train.stop_after_stalled_evals=None',
         '--gin_bindings=train.verbose=False'],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    self.addCleanup(proc.kill)
    samples = []
    start = time.monotonic()
    while proc.poll() is None:
      try:
        samples.append((time.monotonic() - start, _rss_mb(proc.pid)))
      except (FileNotFoundError, ProcessLookupError):
        break
      time.sleep(1.)
    self.assertEqual(proc.wait(), 0)
    with open(os.path.join(workdir, 'metrics.json')) as f:
      metrics = json.load(f)
    self.assertEqual((metrics['status'], metrics['steps']), ('completed', _NUM_STEPS))
    rss = np.array([value for _, value in samples])
    quarter = len(rss) // 4
    self.assertGreater(quarter, 5)
    after_warm_up, last = np.median(rss[quarter:2 * quarter]), np.median(rss[-quarter:])
    seconds = np.array([t for t, _ in samples])
    slope = np.polyfit(seconds[quarter:], rss[quarter:], 1)[0]  # MB per second
    report = {'steps': _NUM_STEPS, 'seconds': float(seconds[-1]), 'peak_mb': float(rss.max()),
              'after_warm_up_mb': float(after_warm_up), 'last_quarter_mb': float(last),
              'growth_mb': float(last - after_warm_up),
              'mb_per_1000_steps': float(slope * seconds[-1] / _NUM_STEPS * 1000.),
              'examples_per_second': metrics['examples_per_second']}
    print('soak', json.dumps(report))
    with open(os.path.join(workdir, 'rss.json'), 'w') as f:
      json.dump({'report': report, 'samples': samples}, f)
    self.assertLess(report['growth_mb'], _MAX_GROWTH_MB)


if __name__ == '__main__':
  tf.test.main()
