"""train.py, evaluate.py and report.py end to end on a smoke run, each in its own process.

The default tier's only run of the training launcher as a process (train_test.py kills and
re-runs it, slow).
"""

import json
import os
import subprocess
import sys

import tensorflow as tf

from spreadtf.evaluation import per_image

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _launch(script, *args):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
  return subprocess.run([sys.executable, os.path.join(_REPO, 'launch', script), *args],
                        capture_output=True, text=True, timeout=300, env=env, check=False)


class EvaluateLaunchTest(tf.test.TestCase):

  def test_evaluate_then_report_a_smoke_run(self):
    root = self.create_tempdir().full_path
    workdir = os.path.join(root, 'gaussian', 'seed=0')
    out = _launch('train.py', f'--workdir={workdir}', '--gin_file=mnist/delta_vae_gaussian.gin',
                  '--gin_file=smoke.gin', '--gin_bindings=train.seed = 0')
    self.assertEqual(out.returncode, 0, out.stderr[-3000:])
    for name in ('metrics.json', 'operative_config.gin', 'run_config.json',
                 'export/saved_model.pb'):
      self.assertTrue(os.path.exists(os.path.join(workdir, name)), name)

    # --yardstick repeats (or takes a comma-separated list).
    out = _launch('evaluate.py', f'--workdir={workdir}', '--num_importance_samples=3',
                  '--features=none', '--yardstick=gaussian:0.3', '--yardstick=laplace:0.2')
    self.assertEqual(out.returncode, 0, out.stderr[-3000:])
    with open(os.path.join(workdir, 'eval.json')) as f:
      result = json.load(f)
    self.assertEqual(result['iw_num_samples'], 3)
    self.assertIn('"iw_log_likelihood"', out.stdout)
    self.assertEqual(result['yardsticks'], ['gaussian:0.3', 'laplace:0.2'])
    self.assertEqual(result['yardstick_gaussian_0.3_iw'], result['iw_log_likelihood'])
    self.assertIn('"yardstick_laplace_0.2_iw"', out.stdout)
    self.assertEqual(sorted(per_image.read(workdir)), [
        'iw_log_likelihood', 'test_elbo', 'yardstick_gaussian_0.3_iw', 'yardstick_laplace_0.2_iw'])

    out = _launch('report.py', f'--runs={root}/*/seed=*', f'--out={root}/report')
    self.assertEqual(out.returncode, 0, out.stderr[-3000:])
    self.assertIn('| gaussian | 1 |', out.stdout)
    self.assertIn('log q~(y) Laplace 0.2 IW, nats', out.stdout)
    self.assertIn('## Evaluation time', out.stdout)
    for name in ('report.md', 'test_elbo.png', 'iw_log_likelihood.png', 'samples.png',
                 'yardstick_laplace_0.2_iw.png'):
      self.assertTrue(os.path.exists(os.path.join(root, 'report', name)), name)


if __name__ == '__main__':
  tf.test.main()
