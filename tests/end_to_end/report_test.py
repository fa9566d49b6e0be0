"""launch/report.py as a process on fake finished runs: declared comparisons, refused input."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from spreadtf.evaluation import per_image

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _launch(*args):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
  return subprocess.run([sys.executable, os.path.join(_REPO, 'launch', 'report.py'), *args],
                        capture_output=True, text=True, timeout=300, env=env, check=False)


def _fake_runs(root):
  """Two configurations x 4 seeds of eval.json / operative_config.gin / eval_per_image.npz."""
  rng = np.random.default_rng(0)
  for name, scale, sharpness in (('laplace', 0.2, 0.091), ('gaussian', 0.3, 0.083)):
    for seed in range(4):
      workdir = os.path.join(root, name, f'seed={seed}')
      os.makedirs(workdir)
      with open(os.path.join(workdir, 'operative_config.gin'), 'w') as f:
        f.write(f'SPREAD_SCALE = {scale}\ntrain.seed = {seed}\n')
      elbo = rng.normal(-200., 20., 50)
      per_image.write(workdir, test_elbo=elbo)
      with open(os.path.join(workdir, 'eval.json'), 'w') as f:
        json.dump({'step': 1000 + seed, 'test_elbo': float(elbo.mean()),
                   'sharpness': sharpness + 0.001 * seed}, f)


class ReportLaunchTest(tf.test.TestCase):

  def test_declared_comparisons_get_verdicts(self):
    root = self.create_tempdir().full_path
    _fake_runs(root)
    out = _launch(f'--runs={root}/*/seed=*', f'--out={root}/report',
                  '--compare=sharpness:laplace>gaussian')
    self.assertEqual(out.returncode, 0, out.stderr[-3000:])
    with open(os.path.join(root, 'report', 'report.md')) as f:
      text = f.read()
    self.assertIn('| 1,003 |', text)                       # the step each run was evaluated at
    # Equal spreads of 4 values shifted by 0.008: Welch p = 2 t_6.sf(0.008 / (s sqrt(2 / 4))).
    self.assertIn('| sharpness: laplace > gaussian | 4 + 4 | 0.008 [', text)
    self.assertIn('holds (p < 0.001, g = 5.', text)
    self.assertIn(text, out.stdout)

  @pytest.mark.slow
  def test_a_comparison_naming_an_unknown_configuration_writes_nothing(self):
    root = self.create_tempdir().full_path
    _fake_runs(root)
    out = _launch(f'--runs={root}/*/seed=*', f'--out={root}/refused',
                  '--compare=sharpness:laplace>cauchy')
    self.assertNotEqual(out.returncode, 0)
    self.assertIn("'cauchy', which is not among the report's configurations", out.stderr)
    self.assertFalse(os.path.exists(os.path.join(root, 'refused')))


if __name__ == '__main__':
  tf.test.main()
