"""launch/sample.py: a PNG grid with TensorFlow alone (no TFP, no Keras), and clear errors for a
wrong path."""

import os
import subprocess
import sys

from absl.testing import parameterized
import keras
import pytest
import tensorflow as tf

from spreadtf.export import generator

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _snapshot(directory):
  """`{relative path: bytes}` of every file under `directory`."""
  found = {}
  for root, _, names in os.walk(directory):
    for name in names:
      with open(os.path.join(root, name), 'rb') as f:
        found[os.path.relpath(os.path.join(root, name), directory)] = f.read()
  return found


class SampleTest(tf.test.TestCase, parameterized.TestCase):

  def _export(self, workdir):
    decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(12, activation='sigmoid'),
                                keras.layers.Reshape((2, 2, 3))])
    return generator.export_generator(decoder, os.path.join(workdir, 'export'))

  def _sample(self, *args, pythonpath=()):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3',
               PYTHONPATH=os.pathsep.join([*pythonpath, _REPO]))
    return subprocess.run([sys.executable, os.path.join(_REPO, 'launch', 'sample.py'), *args],
                          capture_output=True, text=True, env=env, cwd=_REPO, timeout=300)

  def test_runs_where_importing_tfp_or_keras_fails(self):
    workdir = self.create_tempdir().full_path
    export = self._export(workdir)
    blocker = self.create_tempdir('no_tfp_no_keras').full_path
    for package in ('tensorflow_probability', 'keras'):
      os.makedirs(os.path.join(blocker, package))
      with open(os.path.join(blocker, package, '__init__.py'), 'w') as f:
        f.write(f"raise ImportError('{package} is blocked for this test')\n")
    png = os.path.join(workdir, 'grid.png')
    out = self._sample(f'--saved_model={export}', '--num=5', '--seed=3', f'--out={png}',
                       pythonpath=[blocker])
    self.assertEqual(out.returncode, 0, out.stderr[-3000:])
    pixels = tf.io.decode_png(tf.io.read_file(png))
    self.assertEqual(pixels.shape, [3 * 2, 2 * 2, 3])   # 2 columns, 3 rows, one black tile
    loaded = tf.saved_model.load(export)
    expected = loaded.sample(tf.constant(5), tf.constant([3, 0]))['images']
    self.assertAllClose(tf.cast(pixels[:2, :2], tf.float32) / 255., expected[0], atol=0.5 / 255.)
    self.assertAllEqual(pixels[4:, 2:], tf.zeros([2, 2, 3], tf.uint8))

  @parameterized.named_parameters(('missing_path', 'missing', 'runs/mnist/export'),
                                  ('training_workdir', 'workdir', '/export'))
  @pytest.mark.slow
  def test_not_a_saved_model_is_named_and_nothing_is_written(self, kind, hint):
    workdir = self.create_tempdir().full_path
    png = os.path.join(workdir, 'grid.png')
    with open(png, 'wb') as f:
      f.write(b'an earlier grid')
    path = os.path.join(workdir, 'no_such_dir') if kind == 'missing' else workdir
    if kind == 'workdir':
      self._export(workdir)
    before = _snapshot(workdir)
    out = self._sample(f'--saved_model={path}', f'--out={png}')
    self.assertNotEqual(out.returncode, 0)
    self.assertIn(f'--saved_model={path!r} is not a SavedModel directory', out.stderr)
    self.assertIn(hint, out.stderr)
    self.assertEqual(_snapshot(workdir), before)


if __name__ == '__main__':
  tf.test.main()
