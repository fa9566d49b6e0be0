"""launch/benchmark.py starts and prints one JSON line per task (tiny settings, no reference).

Speed is not asserted here (see BUILD.md, Benchmarks): only that the entry point runs and reports
finite rates.
"""

import json
import math
import os
import subprocess
import sys

from absl.testing import parameterized
import tensorflow as tf

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class BenchmarkTest(tf.test.TestCase, parameterized.TestCase):

  def test_prints_a_json_line_per_task(self):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
    out = subprocess.run(
        [sys.executable, os.path.join(_REPO, 'launch', 'benchmark.py'), '--task=ica_em',
         '--task=vae_mlp', '--ica_iters=1', '--batch=8', '--steps=1', '--noreference'],
        capture_output=True, text=True, env=env, timeout=600, check=False)
    self.assertEqual(out.returncode, 0, out.stderr[-3000:])
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.startswith('{')]
    self.assertEqual([line['task'] for line in lines], ['ica_em', 'vae_mlp'])
    self.assertGreater(lines[0]['iterations_per_s'], 0.)
    self.assertTrue(math.isfinite(lines[1]['examples_per_s']))
    self.assertEqual(lines[1]['batch'], 8)


if __name__ == '__main__':
  tf.test.main()
