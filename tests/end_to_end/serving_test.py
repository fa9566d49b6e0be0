"""`saved_model_cli run` on a generator export: both signatures run and write the decoder's images.

`saved_model_cli run` loads a SavedModel through the session-based loader (restore op, then the
signature's feeds and fetches) that TF Serving's C++ loader also takes, unlike
`tf.saved_model.load`, which rebinds the functions' variables through the object graph. It runs
here with Keras and TFP made unimportable: a serving host needs TensorFlow alone.
"""

import os
import subprocess
import sys

from absl.testing import parameterized
import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from spreadtf.evaluation import evaluation_run
from spreadtf.export import generator
from spreadtf.models import celeba_conv

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_SAVED_MODEL_CLI = os.path.join(os.path.dirname(sys.executable), 'saved_model_cli')
# The session runs the same float32 graph as eager Keras, but Grappler and oneDNN may fuse
# (conv + bias + activation) and reorder sums: a few float32 ulps per layer on values in [0, 1].
# A wrong variable (an uninitialised or swapped weight) moves pixels by far more than 1e-5.
_ATOL = 1e-5


def _blocked_imports(directory):
  """A directory whose `keras` and `tensorflow_probability` packages raise on import."""
  for package in ('keras', 'tensorflow_probability'):
    os.makedirs(os.path.join(directory, package))
    with open(os.path.join(directory, package, '__init__.py'), 'w') as f:
      f.write(f"raise ImportError('{package} is blocked for this test')\n")
  return directory


def _make_decoder():
  """A tiny conv decoder (dense, transposed convs, batch norm) with moved batch-norm statistics.

  The moving statistics are trainable=False variables that only inference mode reads: an export
  that lost them, or served the training-mode path, would not match `decoder(z, training=False)`.
  """
  keras.utils.set_random_seed(0)
  decoder = celeba_conv.make_decoder((16, 16, 3), 3, filters=(4, 4), dense_filters=4)
  for step in range(3):
    decoder(tf.random.stateless_normal([8, 3], seed=[step, 1]) * 3. + 1., training=True)
  return decoder


class SavedModelCliTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  def _run_cli(self, export, signature, input_exprs):
    """`saved_model_cli run` of `signature`; returns its written `images` array."""
    self.assertTrue(os.path.exists(_SAVED_MODEL_CLI), f'{_SAVED_MODEL_CLI} is not installed')
    outdir = self.create_tempdir().full_path
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3',
               PYTHONPATH=_blocked_imports(self.create_tempdir().full_path))
    out = subprocess.run(
        [_SAVED_MODEL_CLI, 'run', '--dir', export, '--tag_set', 'serve', '--signature_def',
         signature, '--input_exprs', input_exprs, '--outdir', outdir],
        capture_output=True, text=True, env=env, timeout=300, check=False)
    self.assertEqual(out.returncode, 0, out.stderr[-3000:])
    self.assertEqual(os.listdir(outdir), ['images.npy'])
    return np.load(os.path.join(outdir, 'images.npy'))

  def _assert_images(self, images, expected):
    self.assertEqual(images.dtype, np.float32)
    self.assertEqual(images.shape, expected.shape)
    self.assertAllInRange(images, 0., 1.)
    self.assertAllClose(images, expected, atol=_ATOL, rtol=0.)

  def test_both_signatures_give_the_decoders_images(self):
    decoder = _make_decoder()
    export = generator.export_generator(decoder, os.path.join(self.create_tempdir(), 'export'))
    z = np.random.RandomState(0).normal(size=(4, 3)).astype(np.float32)
    served = self._run_cli(export, 'serving_default', f'z={z.tolist()!r}')
    self._assert_images(served, decoder(z, training=False).numpy())
    self.assertGreater(float(np.ptp(served)), 1e-3)   # Not a constant image: the weights count.
    sampled = self._run_cli(export, 'sample', 'num=5;seed=[3,4]')
    expected = decoder(tf.random.stateless_normal([5, 3], seed=[3, 4]), training=False)
    self._assert_images(sampled, expected.numpy())

  # Slow (a training process and two serving processes); the test above proves the endpoints on
  # a decoder with batch norm, and this one a whole launch/train.py run's export.
  @pytest.mark.slow
  def test_a_trained_runs_export_serves_its_last_checkpoints_decoder(self):
    workdir = self.create_tempdir().full_path
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3',
               PYTHONPATH=os.pathsep.join([_REPO, os.environ.get('PYTHONPATH', '')]))
    out = subprocess.run(
        [sys.executable, os.path.join(_REPO, 'launch', 'train.py'), f'--workdir={workdir}',
         '--gin_file=mnist/delta_vae_gaussian.gin', '--gin_file=smoke.gin',
         '--gin_bindings=train.seed=0', '--gin_bindings=train.export=True'],
        capture_output=True, text=True, env=env, timeout=300, check=False)
    self.assertEqual(out.returncode, 0, out.stderr[-3000:])
    # The training root exports the generator at the end of training, i.e. the last checkpoint.
    model = evaluation_run.load_run(workdir, checkpoint='latest').model
    export = os.path.join(workdir, 'export')
    z = np.random.RandomState(1).normal(size=(2, model.latent_dim)).astype(np.float32)
    served = self._run_cli(export, 'serving_default', f'z={z.tolist()!r}')
    self._assert_images(served, model.decoder(z, training=False).numpy())
    sampled = self._run_cli(export, 'sample', 'num=3;seed=[0,7]')
    z = tf.random.stateless_normal([3, model.latent_dim], seed=[0, 7])
    self._assert_images(sampled, model.decoder(z, training=False).numpy())


if __name__ == '__main__':
  tf.test.main()
