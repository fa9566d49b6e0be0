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
from spreadtf.spreads import lowrank
from spreadtf.training import checkpoints
from spreadtf.training import experiment
from spreadtf.training import spread_learning

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
  checkpoint = checkpoints.make_checkpoint(model, optimizer)
  manager = tf.train.CheckpointManager(checkpoint, os.path.join(workdir, 'checkpoints'), 5)
  return model, optimizer, checkpoints.restore_latest(checkpoint, manager)


def _summary_steps(workdir):
  """`{tag: sorted steps}` of the TensorBoard events under `workdir`."""
  steps = {}
  for path in tf.io.gfile.glob(os.path.join(workdir, 'tensorboard', 'events.*')):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        steps.setdefault(value.tag, []).append(event.step)
  return {tag: sorted(s) for tag, s in steps.items()}


def _low_rank_model(**overrides):
  return _make_tiny_model(spread_fn=lambda: lowrank.LowRankGaussianSpread(
      0.2, rank=2, event_size=64, event_ndims=3, seed=0), **overrides)


def _run_learned(workdir, num_steps, **overrides):
  """A run with a low-rank spread and a 2-step spread phase before every model step."""
  config = dict(model_fn=_low_rank_model,
                spread_schedule=spread_learning.SpreadSchedule(start_step=0, period=1,
                                                               num_steps=2),
                spread_optimizer_fn=lambda: keras.optimizers.Adam(1e-3))
  config.update(overrides)
  return _run(workdir, num_steps, **config)


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

  def test_summaries_hold_scalars_and_a_sample_grid_every_epoch(self):
    workdir = self.create_tempdir().full_path
    _run(workdir, num_steps=4)  # Two epochs of 2 steps.
    steps_by_tag = _summary_steps(workdir)
    self.assertContainsSubset({'train/elbo', 'train/loss', 'test/elbo', 'samples'}, steps_by_tag)
    self.assertEqual(steps_by_tag['samples'], [2, 4])
    self.assertEqual(steps_by_tag['train/elbo'], [2, 4])

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

  def test_metrics_json_is_strict_json_when_no_step_was_timed(self):
    workdir = self.create_tempdir().full_path
    _run(workdir, num_steps=2)
    metrics = _run(workdir, num_steps=3)  # One step: it traces, so none is timed.
    self.assertIsNone(metrics['examples_per_second'])
    with open(os.path.join(workdir, 'metrics.json')) as f:
      written = json.load(f, parse_constant=lambda name: self.fail(f'{name} in metrics.json'))
    self.assertEqual(written, metrics)

  def test_truncated_checkpoint_data_is_a_clear_error_and_kept(self):
    workdir = self.create_tempdir().full_path
    _run(workdir, num_steps=2)
    data = os.path.join(workdir, 'checkpoints', 'ckpt-2.data-00000-of-00001')
    with open(data, 'rb') as f:
      content = f.read()
    with open(data, 'wb') as f:
      f.write(content[:len(content) // 2])
    with self.assertRaisesRegex(RuntimeError, 'ckpt-2.*Nothing was deleted'):
      _run(workdir, num_steps=4)
    self.assertEqual(os.path.getsize(data), len(content) // 2)

  def test_unreadable_checkpoint_state_is_a_clear_error(self):
    workdir = self.create_tempdir().full_path
    _run(workdir, num_steps=2)
    state = os.path.join(workdir, 'checkpoints', 'checkpoint')
    with open(state, 'w') as f:
      f.write('garbage {{')
    with self.assertRaisesRegex(RuntimeError, 'checkpoints/checkpoint'):
      _run(workdir, num_steps=4)
    self.assertTrue(os.path.exists(os.path.join(workdir, 'checkpoints', 'ckpt-2.index')))

  def test_learned_spread_run_logs_phases_and_eigenvectors(self):
    workdir = self.create_tempdir().full_path
    metrics = _run_learned(workdir, num_steps=2)
    self.assertEqual((metrics['spread_phases'], metrics['spread_steps']), (2, 4))
    self.assertGreater(metrics['spread_objective_after'], metrics['spread_objective_before'])
    steps_by_tag = _summary_steps(workdir)
    self.assertEqual(steps_by_tag['spread/objective_before'], [0, 1])
    self.assertEqual(steps_by_tag['spread/objective_after'], [0, 1])
    self.assertEqual(steps_by_tag['spread/eigenvectors'], [0, 1])
    png = tf.io.decode_png(tf.io.read_file(os.path.join(workdir, 'spread_eigenvectors.png')))
    self.assertEqual(png.shape, [3 * 8, 8, 1])  # Rank 2: two eigenvectors and their mean.

  def test_learned_spread_resume_restores_both_optimizers(self):
    workdir = self.create_tempdir().full_path
    _run_learned(workdir, num_steps=2)
    model = _low_rank_model()
    model(tf.zeros((1,) + _IMAGE_SHAPE))
    optimizer, spread_optimizer = keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-3)
    optimizer.build(model.trainable_variables)
    spread_optimizer.build(model.spread.trainable_variables)
    model.compile(optimizer=optimizer, spread_optimizer=spread_optimizer)
    manager = tf.train.CheckpointManager(checkpoints.make_checkpoint(model, optimizer),
                                         os.path.join(workdir, 'checkpoints'), 5)
    path = checkpoints.restore_latest(checkpoints.make_checkpoint(model, optimizer), manager)
    self.assertEqual((int(optimizer.iterations), int(spread_optimizer.iterations)), (2, 4))
    saved_raw = tf.train.load_variable(path, 'spread/L_raw/.ATTRIBUTES/VARIABLE_VALUE')
    self.assertAllEqual(model.spread.L_raw, saved_raw)
    first_moment = spread_optimizer.variables[2]  # Adam's m of L_raw.
    self.assertEqual(first_moment.shape, [64, 2])
    self.assertGreater(float(tf.reduce_max(tf.abs(first_moment))), 0.)

    metrics = _run_learned(workdir, num_steps=4)
    self.assertEqual((metrics['start_step'], metrics['steps']), (2, 4))
    self.assertEqual((metrics['spread_phases'], metrics['spread_steps']), (2, 8))

  @parameterized.named_parameters(
      ('fixed_spread', dict(model_fn=_make_tiny_model), 'GaussianSpread has no trainable'),
      ('no_optimizer', dict(spread_optimizer_fn=None), 'spread_optimizer_fn'),
      ('no_schedule', dict(spread_schedule=None), 'spread_schedule'))
  def test_spread_learning_configuration_errors(self, overrides, message):
    with self.assertRaisesRegex(ValueError, message):
      _run_learned(self.create_tempdir().full_path, num_steps=2, **overrides)

  def test_init_checkpoint_starts_the_networks_from_another_run(self):
    source = self.create_tempdir().full_path
    _run(source, num_steps=2)
    trained, _, _ = _restore_fresh(source)
    model = _low_rank_model()
    model(tf.zeros((1,) + _IMAGE_SHAPE))
    self.assertNotAllClose(model.decoder.get_weights()[0], trained.decoder.get_weights()[0])
    for path in (source, os.path.join(source, 'checkpoints'),
                 os.path.join(source, 'checkpoints', 'ckpt-2')):
      self.assertEndsWith(checkpoints.restore_networks(model, path), 'ckpt-2')
      for mine, theirs in zip(model.encoder.weights + model.decoder.weights,
                              trained.encoder.weights + trained.decoder.weights):
        self.assertAllEqual(mine, theirs)
    with self.assertLogs('absl', level='INFO') as logs:
      metrics = _run_learned(self.create_tempdir().full_path, num_steps=2, init_checkpoint=source)
    self.assertIn('initialised the encoder and decoder from', '\n'.join(logs.output))
    self.assertEqual(metrics['start_step'], 0)

  def test_init_checkpoint_errors_name_the_path(self):
    model = _make_tiny_model(latent_dim=3)
    model(tf.zeros((1,) + _IMAGE_SHAPE))
    missing = os.path.join(self.create_tempdir().full_path, 'nothing')
    with self.assertRaisesRegex(FileNotFoundError, 'nothing'):
      checkpoints.restore_networks(model, missing)
    with self.assertRaisesRegex(FileNotFoundError, 'without checkpoints'):
      checkpoints.restore_networks(model, self.create_tempdir().full_path)
    source = self.create_tempdir().full_path
    _run(source, num_steps=2)  # latent_dim 2: the networks do not match.
    with self.assertRaisesRegex(RuntimeError, 'ckpt-2'):
      checkpoints.restore_networks(model, source)


if __name__ == '__main__':
  tf.test.main()
