"""Export round trip: a fresh process that imports only TensorFlow reproduces the decoder; a new
export replaces an old one only once it is complete."""

import functools
import json
import os
import subprocess
import sys
import textwrap
from unittest import mock

from absl.testing import parameterized
import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from spreadtf.export import generator
from spreadtf.models import celeba_conv
from spreadtf.models import spread_vae
from spreadtf.spreads import kernels

_LOAD_SCRIPT = textwrap.dedent('''
    import json, sys
    import numpy as np
    import tensorflow as tf
    path, z_path, out_path = sys.argv[1:4]
    loaded = tf.saved_model.load(path)
    z = tf.constant(np.load(z_path))
    decoded = loaded.decode(z)['images']
    served = loaded.signatures['serving_default'](z=z)['images']
    sampled = loaded.sample(tf.constant(3), tf.constant([4, 5]))['images']
    np.savez(out_path, decoded=decoded.numpy(), served=served.numpy(), sampled=sampled.numpy())
    print(json.dumps({'modules': sorted(m for m in ('spreadtf', 'tensorflow_probability')
                                        if m in sys.modules)}))
''')


def _make_tiny_model(**overrides):
  """A built tiny conv SpreadVAE (BatchNorm included, so inference mode matters)."""
  config = dict(image_shape=(16, 16, 3), latent_dim=3, seed=0,
                encoder_fn=functools.partial(celeba_conv.make_encoder, filters=(4, 4)),
                decoder_fn=functools.partial(celeba_conv.make_decoder, filters=(4, 4),
                                             dense_filters=4),
                spread_fn=lambda: kernels.GaussianSpread(0.5))
  config.update(overrides)
  keras.utils.set_random_seed(0)
  model = spread_vae.make_spread_vae(**config)
  model(tf.zeros((1,) + config['image_shape']))
  model.compile(optimizer=keras.optimizers.Adam(1e-2))
  model.train_step(tf.random.stateless_uniform((4,) + config['image_shape'], seed=[1, 2]))
  return model


class GeneratorTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  # Slow (a fresh TensorFlow process); the default tier loads exports in process below, and
  # tests/end_to_end/sample_test.py loads one in a fresh process without TFP.
  @pytest.mark.slow
  def test_round_trip_in_fresh_process(self):
    model = _make_tiny_model()
    tmp = self.create_tempdir().full_path
    path = generator.export_generator(model.decoder, os.path.join(tmp, 'export'))
    z = np.random.RandomState(0).normal(size=(5, 3)).astype(np.float32)
    np.save(os.path.join(tmp, 'z.npy'), z)
    script = os.path.join(tmp, 'load.py')
    with open(script, 'w') as f:
      f.write(_LOAD_SCRIPT)
    out = subprocess.run(
        [sys.executable, script, path, os.path.join(tmp, 'z.npy'), os.path.join(tmp, 'out.npz')],
        capture_output=True, text=True, timeout=300, check=False,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3'))
    self.assertEqual(out.returncode, 0, out.stderr[-3000:])
    self.assertEqual(json.loads(out.stdout.strip().splitlines()[-1])['modules'], [])
    with np.load(os.path.join(tmp, 'out.npz')) as result:
      self.assertAllClose(result['decoded'], model.decode(z), atol=1e-6)
      self.assertAllClose(result['served'], model.decode(z), atol=1e-6)
      self.assertAllClose(result['sampled'], model.sample(3, tf.constant([4, 5])), atol=1e-6)

  def test_in_process_endpoints(self):
    model = _make_tiny_model()
    module = generator.Generator(model.decoder)
    images = module.decode(tf.zeros([2, 3]))['images']
    self.assertEqual(images.shape, [2, 16, 16, 3])
    self.assertEqual(images.dtype, tf.float32)
    self.assertEqual(module.sample(tf.constant(4), tf.constant([0, 0]))['images'].shape,
                     [4, 16, 16, 3])


class AtomicExportTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  def test_new_export_replaces_the_old_one_and_leaves_no_temporary_files(self):
    directory = self.create_tempdir().full_path
    path = os.path.join(directory, 'export')
    generator.export_generator(_make_tiny_model().decoder, path)
    model = _make_tiny_model(seed=1)
    model.train_step(tf.random.stateless_uniform((4, 16, 16, 3), seed=[3, 4]))
    generator.export_generator(model.decoder, path)
    z = tf.random.stateless_normal([2, 3], seed=[0, 1])
    loaded = tf.saved_model.load(path)  # Kept: its variables die with it.
    self.assertAllClose(loaded.decode(z)['images'], model.decode(z), atol=1e-6)
    self.assertEqual(os.listdir(directory), ['export'])

  def test_failed_export_keeps_the_old_one(self):
    directory = self.create_tempdir().full_path
    path = os.path.join(directory, 'export')
    generator.export_generator(_make_tiny_model().decoder, path)
    with open(os.path.join(path, 'saved_model.pb'), 'rb') as f:
      old = f.read()

    def fail_midway(module, staging, signatures):
      del module, signatures
      tf.io.gfile.makedirs(staging)
      with open(os.path.join(staging, 'saved_model.pb'), 'wb') as f:
        f.write(b'half')
      raise tf.errors.ResourceExhaustedError(None, None, 'disk full')

    with (mock.patch.object(tf.saved_model, 'save', fail_midway),
          self.assertRaisesRegex(OSError, "cannot write the generator export to '.*export'")):
      generator.export_generator(_make_tiny_model(seed=1).decoder, path)
    with open(os.path.join(path, 'saved_model.pb'), 'rb') as f:
      self.assertEqual(f.read(), old)
    self.assertEqual(os.listdir(directory), ['export'])

  def test_stale_temporary_exports_of_a_killed_process_are_removed(self):
    directory = self.create_tempdir().full_path
    stale = os.path.join(directory, '.export.tmp-999999-abcdef01')
    os.makedirs(os.path.join(stale, 'variables'))
    generator.export_generator(_make_tiny_model().decoder, os.path.join(directory, 'export'))
    self.assertEqual(os.listdir(directory), ['export'])

  def test_file_in_the_way_is_an_error_naming_it(self):
    directory = self.create_tempdir().full_path
    path = os.path.join(directory, 'export')
    with open(path, 'w') as f:
      f.write('not an export')
    with self.assertRaisesRegex(OSError, "'.*export': a file is in the way"):
      generator.export_generator(_make_tiny_model().decoder, path)
    with open(path) as f:
      self.assertEqual(f.read(), 'not an export')
    self.assertEqual(os.listdir(directory), ['export'])


if __name__ == '__main__':
  tf.test.main()
