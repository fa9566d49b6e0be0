"""The launchers end to end: train.py (smoke run, then resume) and sample.py (TF-only PNG)."""

import os
import subprocess
import sys

from absl.testing import parameterized
import gin
import tensorflow as tf

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _launch(script, *args):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
  return subprocess.run([sys.executable, os.path.join(_REPO, 'launch', script), *args],
                        capture_output=True, text=True, timeout=300, env=env, check=False)


class LaunchTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  def test_train_resume_and_sample(self):
    workdir = self.create_tempdir().full_path
    flags = ['--workdir', workdir, '--gin_file=mnist/delta_vae_laplace.gin',
             '--gin_file=smoke.gin', '--gin_bindings=train.seed=0']
    out = _launch('train.py', *flags)
    self.assertEqual(out.returncode, 0, out.stderr[-3000:])
    self.assertIn('Gin config', out.stderr)
    for name in ('metrics.json', 'operative_config.gin', 'export/saved_model.pb'):
      self.assertTrue(os.path.exists(os.path.join(workdir, name)), name)

    out = _launch('train.py', *flags, '--gin_bindings=train.num_steps=4')
    self.assertEqual(out.returncode, 0, out.stderr[-3000:])
    self.assertIn('resumed from step 2', out.stderr)

    png = os.path.join(workdir, 'grid.png')
    out = _launch('sample.py', f'--saved_model={workdir}/export', '--num=9', '--seed=0',
                  f'--out={png}')
    self.assertEqual(out.returncode, 0, out.stderr[-3000:])
    image = tf.io.decode_png(tf.io.read_file(png))
    self.assertEqual(image.shape, [3 * 28, 3 * 28, 1])


if __name__ == '__main__':
  tf.test.main()
