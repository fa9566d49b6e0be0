"""Tests of the training root: outputs, resume with the optimizer state, corrupt checkpoints."""

import functools
import json
import os

from absl.testing import parameterized
import gin
import keras
import numpy as np
import tensorflow as tf

from spreadtf.data import fake
from spreadtf.models import mlp
from spreadtf.models import spread_vae
from spreadtf.spreads import kernels
from spreadtf.training import experiment

_IMAGE_SHAPE = (8, 8, 1)


def _make_tiny_model(**overrides):
  """Unbuilt tiny MLP SpreadVAE factory call (the root builds it inside the strategy scope)."""
  config = dict(image_shape=_IMAGE_SHAPE, latent_dim=2, seed=0,
                encoder_fn=functools.partial(mlp.make_encoder, hidden_units=(8,)),
                decoder_fn=functools.partial(mlp.make_decoder, hidden_units=(8,)),
                spread_fn=lambda: kernels.GaussianSpread(0.2))
  config.update(overrides)
  return spread_vae.make_spread_vae(**config)


def _run(workdir, num_steps, **overrides):
  config = dict(seed=0, data_fn=functools.partial(fake.make_fake_dataset,
                                                  image_shape=_IMAGE_SHAPE, num_examples=16),
                model_fn=_make_tiny_model, optimizer_fn=lambda: keras.optimizers.Adam(1e-2),
                global_batch_size=4, num_steps=num_steps, steps_per_epoch=2, eval_steps=1,
                num_samples=4, verbose=False)
  config.update(overrides)
  return experiment.train(workdir, **config)


def _restore_fresh(workdir):
  """A fresh model and optimizer restored from the latest checkpoint of `workdir`."""
  model = _make_tiny_model()
  model(tf.zeros((1,) + _IMAGE_SHAPE))
  optimizer = keras.optimizers.Adam(1e-2)
  optimizer.build(model.trainable_variables)
  checkpoint = experiment.make_checkpoint(model, optimizer)
  manager = tf.train.CheckpointManager(checkpoint, os.path.join(workdir, 'checkpoints'), 5)
  return model, optimizer, experiment.restore_latest(checkpoint, manager)


class ExperimentTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  def test_writes_run_outputs(self):
    workdir = self.create_tempdir().full_path
    metrics = _run(workdir, num_steps=4)
    self.assertEqual(metrics['steps'], 4)
    with open(os.path.join(workdir, 'metrics.json')) as f:
      written = json.load(f)
    self.assertEqual(written, metrics)
    for key in ('train_elbo', 'test_elbo', 'examples_per_second'):
      self.assertTrue(np.isfinite(written[key]), key)
    self.assertTrue(os.path.exists(os.path.join(workdir, 'operative_config.gin')))
    self.assertNotEmpty(tf.io.gfile.glob(os.path.join(workdir, 'tensorboard', 'events.*')))
    self.assertTrue(os.path.exists(os.path.join(workdir, 'export', 'saved_model.pb')))
    self.assertEqual(tf.train.latest_checkpoint(os.path.join(workdir, 'checkpoints')),
                     os.path.join(workdir, 'checkpoints', 'ckpt-4'))

  def test_summaries_hold_scalars_and_sample_grid(self):
    workdir = self.create_tempdir().full_path
    _run(workdir, num_steps=2)
    tags = set()
    for path in tf.io.gfile.glob(os.path.join(workdir, 'tensorboard', 'events.*')):
      for event in tf.compat.v1.train.summary_iterator(path):
        tags.update(v.tag for v in event.summary.value)
    self.assertContainsSubset({'train/elbo', 'train/loss', 'test/elbo', 'samples'}, tags)

  def test_resume_continues_with_optimizer_state(self):
    workdir = self.create_tempdir().full_path
    _run(workdir, num_steps=2)
    _, optimizer, path = _restore_fresh(workdir)
    self.assertEqual(int(optimizer.iterations), 2)
    # Adam's first moment of the first kernel, restored, equals the saved value and is non-zero.
    slot = optimizer.variables[2]
    saved = {name: tf.train.load_variable(path, name) for name, _ in tf.train.list_variables(path)}
    matches = [name for name, value in saved.items()
               if 'optimizer' in name and np.shape(value) == tuple(slot.shape)
               and np.allclose(value, slot.numpy())]
    self.assertNotEmpty(matches)
    self.assertGreater(float(tf.reduce_max(tf.abs(slot))), 0.)

    with self.assertLogs('absl', level='INFO') as logs:
      metrics = _run(workdir, num_steps=4)
    self.assertIn('resumed from step 2', '\n'.join(logs.output))
    self.assertEqual((metrics['start_step'], metrics['steps']), (2, 4))
    _, optimizer, path = _restore_fresh(workdir)
    self.assertEqual(int(optimizer.iterations), 4)
    self.assertEndsWith(path, 'ckpt-4')

    _run(workdir, num_steps=4)  # Nothing left to do: the finished run's metrics are kept.
    with open(os.path.join(workdir, 'metrics.json')) as f:
      self.assertEqual(json.load(f), metrics)

  def test_corrupt_checkpoint_is_a_clear_error_and_kept(self):
    workdir = self.create_tempdir().full_path
    _run(workdir, num_steps=2)
    index = os.path.join(workdir, 'checkpoints', 'ckpt-2.index')
    with open(index, 'wb') as f:
      f.write(b'not a checkpoint')
    with self.assertRaisesRegex(RuntimeError, 'ckpt-2'):
      _run(workdir, num_steps=4)
    self.assertTrue(os.path.exists(index))
    self.assertTrue(os.path.exists(os.path.join(workdir, 'checkpoints',
                                                'ckpt-2.data-00000-of-00001')))

  def test_unreadable_checkpoint_state_is_a_clear_error(self):
    workdir = self.create_tempdir().full_path
    _run(workdir, num_steps=2)
    state = os.path.join(workdir, 'checkpoints', 'checkpoint')
    with open(state, 'w') as f:
      f.write('garbage {{')
    with self.assertRaisesRegex(RuntimeError, 'checkpoints/checkpoint'):
      _run(workdir, num_steps=4)
    self.assertTrue(os.path.exists(os.path.join(workdir, 'checkpoints', 'ckpt-2.index')))

  def test_sub_seeds_are_named_and_deterministic(self):
    self.assertEqual(experiment.sub_seed(3, 'data'), experiment.sub_seed(3, 'data'))
    self.assertNotEqual(experiment.sub_seed(3, 'data'), experiment.sub_seed(3, 'model'))
    self.assertNotEqual(experiment.sub_seed(3, 'data'), experiment.sub_seed(4, 'data'))


if __name__ == '__main__':
  tf.test.main()
