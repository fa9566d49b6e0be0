"""Every launcher runs as `python launch/X.py` from any working directory (flags + one call)."""

import glob
import os
import subprocess
import sys

from absl.testing import parameterized
import pytest
import tensorflow as tf

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_LAUNCHERS = sorted(os.path.basename(p) for p in glob.glob(os.path.join(_REPO, 'launch', '*.py'))
                    if not p.endswith('__init__.py'))


def _helpshort(test, launcher):
  """Runs `launch/<launcher> --helpshort` outside the repository; returns its stdout."""
  out = subprocess.run([sys.executable, os.path.join(_REPO, 'launch', launcher), '--helpshort'],
                       cwd=test.create_tempdir().full_path, capture_output=True, text=True,
                       env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3'), timeout=300, check=False)
  # absl's help flags print the launcher's own flags and exit with status 1.
  test.assertNotIn('Traceback', out.stderr, f'{launcher}: {out.stderr[-2000:]}')
  test.assertIn(launcher, out.stdout)
  return out.stdout


class LaunchersTest(tf.test.TestCase, parameterized.TestCase):

  def test_benchmark_launcher_runs_as_a_script_outside_the_repository(self):
    # It imports `benchmarks`, which used to work only as `python -m launch.benchmark`.
    self.assertIn('--task', _helpshort(self, 'benchmark.py'))

  @parameterized.parameters(*_LAUNCHERS)
  @pytest.mark.slow
  def test_every_launcher_runs_as_a_script_outside_the_repository(self, launcher):
    self.assertIn('--', _helpshort(self, launcher))
