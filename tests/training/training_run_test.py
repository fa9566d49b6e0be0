"""Tests of the training root: outputs, resume, divergence, early stopping, best checkpoint.

Each run here costs about two seconds of tracing, so the default tier keeps one test per
behaviour; variants and negative controls (marked slow) run with `make test-slow`.
"""

import functools
import json
import os
import shutil
import signal
import tempfile

from absl.testing import parameterized
import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from spreadtf.data import fake
from spreadtf.training import checkpoints
from spreadtf.training import input_checks
from spreadtf.training import loop
from spreadtf.training import spread_learning
from spreadtf.training import workdir_layout
from tests import testing
from tests.training import input_checks_test


def _not_json(name):
  raise AssertionError(f'{name} in metrics.json')


def _sigterm_at_batch(split, global_batch_size, seed, batch, marker):
  """Fake data whose training pipeline sends this process SIGTERM when it reads `batch`.

  Once: the file `marker` records that it did (the same data function resumes the run).
  """
  dataset = fake.make_fake_dataset(split, global_batch_size, seed,
                                   image_shape=testing.IMAGE_SHAPE, num_examples=16)
  if split != 'train':
    return dataset

  def notice(index):
    if int(index) == batch and not os.path.exists(marker):
      open(marker, 'w').close()
      os.kill(os.getpid(), signal.SIGTERM)
    return index

  def send(index, images):
    index = tf.py_function(notice, [index], tf.int64)
    with tf.control_dependencies([index]):
      return tf.identity(images)

  return dataset.enumerate().map(send)


def _read_metrics(workdir):
  with open(os.path.join(workdir, 'metrics.json')) as f:
    return json.load(f, parse_constant=_not_json)


class ExperimentTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  def test_writes_run_outputs(self):
    workdir = self.create_tempdir().full_path
    metrics = testing.run(workdir, num_steps=4, export=True)
    self.assertEqual((metrics['steps'], metrics['status']), (4, 'completed'))
    self.assertEqual(_read_metrics(workdir), metrics)
    for key in ('train_elbo', 'validation_elbo', 'examples_per_second', 'best_validation_elbo'):
      self.assertTrue(np.isfinite(metrics[key]), key)
    self.assertIn(metrics['best_step'], (2, 4))
    self.assertGreater(metrics['train_seconds'], 0.)
    self.assertEqual(metrics['skipped_steps'], 0)
    for name in ('operative_config.gin', 'run_config.json', 'export/saved_model.pb'):
      self.assertTrue(os.path.exists(os.path.join(workdir, name)), name)
    # What ships is named: the export holds the latest checkpoint (the default).
    self.assertEqual((metrics['exported_step'], metrics['exported_checkpoint']),
                     (4, 'checkpoints/ckpt-4'))
    with open(workdir_layout.WorkdirLayout(workdir).export_info) as f:
      self.assertEqual(json.load(f), {'step': 4, 'checkpoint': 'checkpoints/ckpt-4',
                                      'export_checkpoint': 'latest'})
    self.assertNotEmpty(tf.io.gfile.glob(os.path.join(workdir, 'tensorboard', 'events.*')))
    self.assertEqual(tf.train.latest_checkpoint(os.path.join(workdir, 'checkpoints')),
                     os.path.join(workdir, 'checkpoints', 'ckpt-4'))
    self.assertEqual([n for n in os.listdir(workdir) if n.startswith('.')], [])  # No temp files.

  def test_sigterm_saves_the_current_step_and_the_same_call_continues(self):
    workdir = self.create_tempdir().full_path
    data_fn = functools.partial(_sigterm_at_batch, batch=2,
                                marker=os.path.join(self.create_tempdir().full_path, 'sent'))
    metrics = testing.run(workdir, num_steps=10, steps_per_loop=1, data_fn=data_fn)
    self.assertEqual(metrics['status'], 'preempted')
    step = metrics['steps']
    self.assertBetween(step, 1, 9)
    self.assertEqual(_read_metrics(workdir), metrics)
    self.assertEqual(tf.train.latest_checkpoint(os.path.join(workdir, 'checkpoints')),
                     os.path.join(workdir, 'checkpoints', f'ckpt-{step}'))
    metrics = testing.run(workdir, num_steps=10, steps_per_loop=1, data_fn=data_fn)
    self.assertEqual((metrics['status'], metrics['start_step'], metrics['steps']),
                     ('completed', step, 10))

  def test_data_of_another_image_shape_is_refused_before_any_write(self):
    workdir = self.create_tempdir().full_path
    data_fn = functools.partial(fake.make_fake_dataset, image_shape=(28, 28, 1), num_examples=16)
    with self.assertRaisesRegex(ValueError, r'28, 28, 1.*8, 8, 1|8, 8, 1.*28, 28, 1'):
      testing.run(workdir, num_steps=2, data_fn=data_fn)
    self.assertEqual(os.listdir(workdir), [])

  def test_summaries_hold_scalars_and_a_sample_grid_every_epoch(self):
    workdir = self.create_tempdir().full_path
    metrics = testing.run(workdir, num_steps=4)  # Two epochs of 2 steps, no export.
    self.assertEqual((metrics['exported_step'], metrics['exported_checkpoint']), (None, None))
    steps_by_tag = testing.summary_steps(workdir)
    self.assertContainsSubset({'train/elbo', 'train/loss', 'validation/elbo', 'samples'},
                              steps_by_tag)
    self.assertEqual(steps_by_tag['samples'], [2, 4])
    self.assertEqual(steps_by_tag['train/elbo'], [2, 4])

  def test_resume_continues_with_optimizer_state(self):
    workdir = self.create_tempdir().full_path
    testing.run(workdir, num_steps=2)
    _, optimizer, path = testing.restore_fresh(workdir)
    self.assertEqual(int(optimizer.iterations), 2)
    # Adam's first moment of the first kernel, restored, equals the saved value and is non-zero.
    slot = optimizer.variables[2]
    matches = [name for name, value in testing.state_variables(path).items()
               if name.startswith('optimizer') and np.shape(value) == tuple(slot.shape)
               and np.allclose(value, slot.numpy())]
    self.assertNotEmpty(matches)
    self.assertGreater(float(tf.reduce_max(tf.abs(slot))), 0.)

    with self.assertLogs('absl', level='INFO') as logs:
      metrics = testing.run(workdir, num_steps=4)
    self.assertIn('resumed from step 2', '\n'.join(logs.output))
    self.assertEqual((metrics['start_step'], metrics['steps']), (2, 4))
    _, optimizer, path = testing.restore_fresh(workdir)
    self.assertEqual(int(optimizer.iterations), 4)
    self.assertEndsWith(path, 'ckpt-4')

    testing.run(workdir, num_steps=4)  # Nothing left to do: the finished run's metrics are kept.
    self.assertEqual(_read_metrics(workdir), metrics)

  def test_resumed_run_ends_with_the_weights_of_an_uninterrupted_run(self):
    self._check_exact_resume(steps_per_loop=3)  # Resumed mid-loop and mid-epoch.

  @pytest.mark.slow
  def test_resumed_run_ends_with_the_weights_of_an_uninterrupted_run_one_step_per_loop(self):
    self._check_exact_resume(steps_per_loop=1)

  def _check_exact_resume(self, steps_per_loop):
    whole, parts = self.create_tempdir().full_path, self.create_tempdir().full_path
    testing.run(whole, num_steps=9, steps_per_epoch=3, steps_per_loop=steps_per_loop)
    testing.run(parts, num_steps=4, steps_per_epoch=3, steps_per_loop=steps_per_loop)  # Mid-epoch.
    metrics = testing.run(parts, num_steps=9, steps_per_epoch=3, steps_per_loop=steps_per_loop)
    self.assertEqual(metrics['start_step'], 4)
    first = testing.state_variables(os.path.join(whole, 'checkpoints', 'ckpt-9'))
    second = testing.state_variables(os.path.join(parts, 'checkpoints', 'ckpt-9'))
    self.assertLessEqual(testing.max_difference(first, second), 1e-6)

  @pytest.mark.slow
  def test_resumed_run_without_the_input_position_reshuffles(self):
    whole, parts = self.create_tempdir().full_path, self.create_tempdir().full_path
    testing.run(whole, num_steps=6, checkpoint_input=False)
    testing.run(parts, num_steps=2, checkpoint_input=False)
    testing.run(parts, num_steps=6, checkpoint_input=False)
    self.assertNotIn('data', {n.split('/')[0] for n, _ in tf.train.list_variables(
        os.path.join(parts, 'checkpoints', 'ckpt-6'))})
    first = testing.state_variables(os.path.join(whole, 'checkpoints', 'ckpt-6'))
    second = testing.state_variables(os.path.join(parts, 'checkpoints', 'ckpt-6'))
    self.assertGreater(testing.max_difference(first, second), 1e-4)

  @pytest.mark.slow
  def test_metrics_json_is_strict_json_when_no_step_was_timed(self):
    workdir = self.create_tempdir().full_path
    testing.run(workdir, num_steps=2)
    metrics = testing.run(workdir, num_steps=3)  # One host loop: it traces, so none is timed.
    self.assertIsNone(metrics['examples_per_second'])
    self.assertEqual(_read_metrics(workdir), metrics)

  def test_nan_at_a_known_step_stops_there_and_keeps_the_last_good_checkpoint(self):
    workdir = self.create_tempdir().full_path
    data_fn = functools.partial(testing.make_nan_data, nan_step=5)
    testing.run(workdir, num_steps=4, data_fn=data_fn)
    good = testing.hash_tree(os.path.join(workdir, 'checkpoints'))
    with self.assertRaisesRegex(loop.DivergedError, r'step 5: the loss is NaN or Inf.*ckpt-4'):
      testing.run(workdir, num_steps=10, data_fn=data_fn, steps_per_loop=10)
    self.assertEqual(testing.hash_tree(os.path.join(workdir, 'checkpoints')), good)
    metrics = _read_metrics(workdir)
    self.assertEqual((metrics['status'], metrics['diverged_step'], metrics['diverged_metric']),
                     ('diverged', 5, 'loss'))
    self.assertEqual(metrics['steps'], 5)
    self.assertEndsWith(metrics['last_checkpoint'], 'ckpt-4')
    values = testing.state_variables(os.path.join(workdir, 'checkpoints', 'ckpt-4'))
    self.assertTrue(all(np.all(np.isfinite(v)) for v in values.values()))

  def test_skip_step_skips_the_nonfinite_step_and_counts_it(self):
    workdir = self.create_tempdir().full_path
    with self.assertLogs('absl', level='WARNING') as logs:
      metrics = testing.run(workdir, num_steps=8, on_nonfinite='skip_step',
                         data_fn=functools.partial(testing.make_nan_data, nan_step=5))
    self.assertIn('skipped 1 step(s) (latest: step 5, the loss is NaN or Inf); 1 skipped so '
                  'far, 1 in a row', '\n'.join(logs.output))
    self.assertEqual((metrics['status'], metrics['steps'], metrics['skipped_steps'],
                      metrics['last_skipped_step'], metrics['last_skipped_reason']),
                     ('completed', 8, 1, 5, 'loss'))
    self.assertTrue(np.isfinite(metrics['train_elbo']))  # The skipped step is not averaged in.
    values = testing.state_variables(os.path.join(workdir, 'checkpoints', 'ckpt-8'))
    self.assertTrue(all(np.all(np.isfinite(v)) for v in values.values()))

  def test_skipped_steps_are_in_the_status_line_and_metrics_and_empty_means_are_null(self):
    workdir = self.create_tempdir().full_path
    with self.assertLogs('absl', level='INFO') as logs:
      metrics = testing.run(workdir, num_steps=4, on_nonfinite='skip_step',
                            data_fn=functools.partial(testing.make_nan_data, nan_step=[2, 3]))
    self.assertEqual((metrics['status'], metrics['skipped_steps'], metrics['last_skipped_step']),
                     ('completed', 2, 3))
    # The last epoch (steps 2 and 3) applied no step: its means are null, not 0.
    self.assertEqual((metrics['train_elbo'], metrics['train_loss']), (None, None))
    self.assertEqual(_read_metrics(workdir), metrics)
    self.assertIn('run completed at step 4; 2 step(s) skipped, not applied (the latest at step 3:'
                  ' loss)', '\n'.join(logs.output))
    self.assertEqual(testing.summary_steps(workdir)['train/elbo'], [2])  # None is not logged.

  @parameterized.named_parameters(
      ('stop', 'stop', 'schedule'), ('skip_step', 'skip_step', 'schedule'),
      ('skip_step_from_step_0', 'skip_step', 'constant'))
  def test_an_exploding_learning_rate_diverges_with_finite_sane_weights_kept(self, mode, rate):
    # Learning rate 1e30 from step 2 on (the schedule's boundary 1: steps <= 1 use 1e-2) or from
    # step 0: each update would move the weights by ~1e30, far beyond 100 times their norm.
    learning_rate = (keras.optimizers.schedules.PiecewiseConstantDecay([1], [1e-2, 1e30])
                     if rate == 'schedule' else 1e30)
    workdir = self.create_tempdir().full_path
    with self.assertRaisesRegex(loop.DivergedError, 'would have blown the weights up') as caught:
      testing.run(workdir, num_steps=20, on_nonfinite=mode, max_consecutive_skipped=3,
                  optimizer_fn=functools.partial(keras.optimizers.Adam, learning_rate))
    first = 2 if rate == 'schedule' else 0
    if mode == 'stop':
      self.assertEqual((caught.exception.step, caught.exception.metric), (first, 'update'))
    else:  # Steps first .. first + 2 skipped, then the limit.
      self.assertEqual((caught.exception.step, caught.exception.skipped_in_a_row), (first + 2, 3))
    metrics = _read_metrics(workdir)
    self.assertEqual((metrics['status'], metrics['diverged_metric'], metrics['exported_step']),
                     ('diverged', 'update', None))
    kept = metrics['last_checkpoint']
    self.assertIsNotNone(kept)
    weights = {name: value for name, value in testing.state_variables(kept).items()
               if name.startswith('optimizer/_trainable_variables/')}
    self.assertLen(weights, 10)
    for name, value in weights.items():
      self.assertTrue(np.all(np.isfinite(value)), name)
      self.assertLess(float(np.max(np.abs(value))), 10., name)  # Glorot-sized, not 1e30.
    if mode == 'skip_step' and rate == 'schedule':  # ckpt-4 was saved mid-streak: as at 2.
      self.assertEndsWith(kept, 'ckpt-4')
      before = testing.state_variables(os.path.join(workdir, 'checkpoints', 'ckpt-2'))
      for name, value in weights.items():
        self.assertAllEqual(value, before[name])

  def test_early_stopping_and_best_checkpoint_follow_the_validation_elbo(self):
    workdir = self.create_tempdir().full_path
    # Learning rate 0: the test ELBO only fluctuates with the per-step noise, so it stalls.
    config = dict(num_steps=40, steps_per_epoch=1, stop_after_stalled_evals=2,
                  optimizer_fn=functools.partial(keras.optimizers.Adam, 0.))
    metrics = testing.run(workdir, **config)
    elbos = testing.summary_scalars(workdir, 'validation/elbo')
    best, best_step, stalled, stop = -np.inf, None, 0, None
    for step, elbo in elbos:  # The rule, replayed on the logged test ELBOs.
      if elbo > best:
        best, best_step, stalled = elbo, step, 0
      else:
        stalled += 1
      if stalled >= 2:
        stop = step
        break
    self.assertIsNotNone(stop)
    self.assertEqual(elbos[-1][0], stop)
    self.assertEqual((metrics['status'], metrics['steps'], metrics['best_step']),
                     ('early_stopped', stop, best_step))
    self.assertAllClose(metrics['best_validation_elbo'], best)
    best_dir = os.path.join(workdir, 'checkpoints', checkpoints.BEST)
    self.assertEqual(tf.train.latest_checkpoint(best_dir),
                     os.path.join(best_dir, f'ckpt-{best_step}'))
    self.assertLen(tf.io.gfile.glob(os.path.join(best_dir, '*.index')), 1)
    self.assertEqual(testing.run(workdir, **config), metrics)  # Stopped runs stay stopped.

  @pytest.mark.slow
  def test_resume_keeps_the_best_so_far_and_the_stall_count(self):
    whole, parts = self.create_tempdir().full_path, self.create_tempdir().full_path
    config = dict(steps_per_epoch=1, stop_after_stalled_evals=3,
                  optimizer_fn=functools.partial(keras.optimizers.Adam, 0.))
    expected = testing.run(whole, num_steps=40, **config)
    for num_steps in (3, 5, 8, 40):  # Each part stops and resumes mid-way.
      metrics = testing.run(parts, num_steps=num_steps, **config)
      if metrics['status'] == 'early_stopped':
        break
    for key in ('status', 'steps', 'best_step', 'best_validation_elbo'):
      self.assertEqual(metrics[key], expected[key], key)
    self.assertGreater(metrics['start_step'], 0)

  @pytest.mark.slow
  def test_train_seconds_add_up_over_resumes(self):
    workdir = self.create_tempdir().full_path
    first = testing.run(workdir, num_steps=2)['train_seconds']
    second = testing.run(workdir, num_steps=4)['train_seconds']
    self.assertGreater(first, 0.)
    self.assertGreater(second, first)

  def test_learned_spread_run_logs_phases_and_eigenvectors(self):
    workdir = self.create_tempdir().full_path
    metrics = testing.run_learned(workdir, num_steps=2)
    self.assertEqual((metrics['spread_phases'], metrics['spread_steps']), (2, 4))
    # The probe batch is held-out (validation) data while the ascent steps read training
    # batches, so two steps need not raise the probe objective (spread_learning_test proves the
    # ascent on one batch); here the phase must have moved the spread and logged both values.
    self.assertTrue(np.isfinite([metrics['spread_objective_before'],
                                 metrics['spread_objective_after']]).all())
    self.assertNotEqual(metrics['spread_objective_after'], metrics['spread_objective_before'])
    steps_by_tag = testing.summary_steps(workdir)
    self.assertEqual(steps_by_tag['spread/objective_before'], [0, 1])
    self.assertEqual(steps_by_tag['spread/objective_after'], [0, 1])
    self.assertEqual(steps_by_tag['spread/eigenvectors'], [0, 1])
    png = tf.io.decode_png(tf.io.read_file(os.path.join(workdir, 'spread_eigenvectors.png')))
    self.assertEqual(png.shape, [3 * 8, 8, 1])  # Rank 2: two eigenvectors and their mean.

  def test_nan_in_a_spread_step_stops_the_run_naming_the_spread_phase(self):
    # run_learned: a phase of 2 spread steps before every model step, so the phase before model
    # step k reads batches 3k and 3k + 1 (spread steps 2k and 2k + 1) and step k batch 3k + 2.
    workdir = self.create_tempdir().full_path
    data_fn = functools.partial(testing.make_nan_data, nan_step=12)  # Spread step 8.
    testing.run_learned(workdir, num_steps=4, data_fn=data_fn)
    good = testing.hash_tree(os.path.join(workdir, 'checkpoints'))
    with self.assertRaisesRegex(
        loop.DivergedError, r'in the spread phase before step 4, at spread step 8: the spread '
        r'objective is NaN or Inf; the update of that step was not applied\. The last good '
        r'checkpoint \(.*ckpt-4\) is kept\. Lower the spread learning rate') as caught:
      testing.run_learned(workdir, num_steps=10, data_fn=data_fn)
    self.assertEqual((caught.exception.phase, caught.exception.step,
                      caught.exception.spread_step), ('spread', 4, 8))
    self.assertEqual(testing.hash_tree(os.path.join(workdir, 'checkpoints')), good)
    metrics = _read_metrics(workdir)
    self.assertEqual(
        {k: metrics[k] for k in ('status', 'steps', 'diverged_step', 'diverged_phase',
                                 'diverged_spread_step', 'diverged_metric', 'skipped_steps',
                                 'skipped_spread_steps', 'last_skipped_spread_step',
                                 'last_skipped_spread_reason', 'exported_step')},
        {'status': 'diverged', 'steps': 4, 'diverged_step': 4, 'diverged_phase': 'spread',
         'diverged_spread_step': 8, 'diverged_metric': 'loss', 'skipped_steps': 0,
         'skipped_spread_steps': 1, 'last_skipped_spread_step': 8,
         'last_skipped_spread_reason': 'loss', 'exported_step': None})
    self.assertEndsWith(metrics['last_checkpoint'], 'ckpt-4')

  def test_skipped_spread_steps_are_counted_checkpointed_and_in_the_status_line(self):
    workdir = self.create_tempdir().full_path
    data_fn = functools.partial(testing.make_nan_data, nan_step=3)  # Spread step 2.
    with self.assertLogs('absl', level='INFO') as logs:
      metrics = testing.run_learned(workdir, num_steps=4, on_nonfinite='skip_step',
                                    data_fn=data_fn)
    self.assertEqual(
        {k: metrics[k] for k in ('status', 'steps', 'spread_steps', 'skipped_steps',
                                 'skipped_spread_steps', 'last_skipped_spread_step',
                                 'last_skipped_spread_reason')},
        {'status': 'completed', 'steps': 4, 'spread_steps': 8, 'skipped_steps': 0,
         'skipped_spread_steps': 1, 'last_skipped_spread_step': 2,
         'last_skipped_spread_reason': 'loss'})
    self.assertEqual(_read_metrics(workdir), metrics)
    output = '\n'.join(logs.output)
    self.assertIn('skipped 1 spread step(s) in the phase before step 1 (latest: spread step 2, '
                  'the spread objective is NaN or Inf); 1 skipped so far, 0 in a row.', output)
    self.assertIn('run completed at step 4; 1 spread step(s) skipped, not applied (the latest '
                  'at spread step 2: loss)', output)
    prefix = os.path.join(workdir, 'checkpoints', 'ckpt-4')
    self.assertEqual(tf.train.load_variable(prefix, 'spread_guard/count/.ATTRIBUTES/'
                                            'VARIABLE_VALUE'), 1)
    self.assertEqual(tf.train.load_variable(prefix, 'spread_skip_streak/.ATTRIBUTES/'
                                            'VARIABLE_VALUE'), 0)
    values = testing.state_variables(prefix)
    self.assertTrue(all(np.all(np.isfinite(v)) for v in values.values()))
    self.assertEqual(testing.summary_scalars(workdir, 'spread/skipped_spread_steps'),
                     [(0, 0.), (1, 1.), (2, 1.), (3, 1.)])
    resumed = testing.run_learned(workdir, num_steps=6, on_nonfinite='skip_step',
                                  data_fn=data_fn)  # The count comes back from ckpt-4.
    self.assertEqual((resumed['start_step'], resumed['skipped_spread_steps'],
                      resumed['last_skipped_spread_step']), (4, 1, 2))

  @pytest.mark.slow
  def test_learned_spread_resume_restores_both_optimizers(self):
    workdir = self.create_tempdir().full_path
    testing.run_learned(workdir, num_steps=2)
    model = testing.low_rank_model()
    model(tf.zeros((1,) + testing.IMAGE_SHAPE))
    optimizer, spread_optimizer = testing.make_adam(), testing.make_spread_adam()
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

    metrics = testing.run_learned(workdir, num_steps=4)
    self.assertEqual((metrics['start_step'], metrics['steps']), (2, 4))
    self.assertEqual((metrics['spread_phases'], metrics['spread_steps']), (2, 8))

  @pytest.mark.slow
  def test_learned_spread_phases_split_host_loops(self):
    one, many = self.create_tempdir().full_path, self.create_tempdir().full_path
    schedule = spread_learning.SpreadSchedule(start_step=1, period=3, num_steps=2)
    testing.run_learned(one, num_steps=8, steps_per_epoch=8, steps_per_loop=1,
                     spread_schedule=schedule)
    metrics = testing.run_learned(many, num_steps=8, steps_per_epoch=8, steps_per_loop=100,
                               spread_schedule=schedule)
    self.assertEqual((metrics['spread_phases'], metrics['spread_steps']), (3, 6))  # 1, 4, 7.
    self.assertEqual(testing.summary_steps(many)['spread/objective_after'], [1, 4, 7])
    self.assertLessEqual(testing.max_difference(
        testing.state_variables(os.path.join(one, 'checkpoints', 'ckpt-8')),
        testing.state_variables(os.path.join(many, 'checkpoints', 'ckpt-8'))), 1e-6)

  @parameterized.named_parameters(
      ('fixed_spread', dict(model_fn=testing.make_tiny_model), 'GaussianSpread has no trainable'),
      ('no_optimizer', dict(spread_optimizer_fn=None), 'spread_optimizer_fn'),
      ('no_schedule', dict(spread_schedule=None), 'spread_schedule'))
  def test_spread_learning_configuration_errors(self, overrides, message):
    with self.assertRaisesRegex(ValueError, message):
      testing.run_learned(self.create_tempdir().full_path, num_steps=2, **overrides)

  @parameterized.named_parameters(
      ('on_nonfinite', dict(on_nonfinite='ignore'), 'on_nonfinite'),
      ('steps_per_loop', dict(steps_per_loop=0), 'steps_per_loop'),
      ('stalled_evals', dict(stop_after_stalled_evals=0), 'stop_after_stalled_evals'),
      ('stalled_without_evals', dict(stop_after_stalled_evals=2, eval_steps=0), 'eval_steps'),
      ('export_checkpoint', dict(export_checkpoint='newest'), 'export_checkpoint'),
      ('best_without_evals', dict(export_checkpoint='best', eval_steps=0), 'eval_steps'))
  def test_bad_options_are_errors_naming_them(self, overrides, message):
    workdir = os.path.join(self.create_tempdir().full_path, 'run')
    with self.assertRaisesRegex(ValueError, message):
      testing.run(workdir, num_steps=2, **overrides)
    self.assertFalse(os.path.exists(workdir))

  def test_init_checkpoint_starts_the_networks_from_another_run(self):
    source = self.create_tempdir().full_path
    testing.run(source, num_steps=2)
    with self.assertLogs('absl', level='INFO') as logs:
      metrics = testing.run_learned(self.create_tempdir().full_path, num_steps=2,
                                 init_checkpoint=source)
    self.assertIn('initialised the encoder and decoder from', '\n'.join(logs.output))
    self.assertEqual(metrics['start_step'], 0)


def _overwrite(path, content):
  with open(path, 'wb') as f:
    f.write(content)


def _truncate_checkpoint(workdir, _):
  path = os.path.join(workdir, 'checkpoints', 'ckpt-2.data-00000-of-00001')
  with open(path, 'rb') as f:
    content = f.read()
  _overwrite(path, content[:len(content) // 2])


def _export_path_is_a_file(workdir, _):
  _overwrite(os.path.join(workdir, 'export'), b'a file where the export goes')
  return dict(export=True)


def _two_images_added(_, images):
  input_checks_test.write_images(images, 2, start=20)


def _truncated_image_added(_, images):
  input_checks_test.write_truncated_image(images, 20)
  return dict(on_data_change='reshuffle')  # Past the data-change check: the batch check.


class RefusedRunTest(tf.test.TestCase, parameterized.TestCase):
  """Every refused run of docs/errors.md on a training workdir leaves it byte for byte as it was.

  The workdir holds a 2-step run on a folder of images and what an interrupted checkpoint save
  leaves (removed only by a run that passed every check).
  """

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    gin.clear_config()
    cls._base = tempfile.mkdtemp()
    images = os.path.join(cls._base, 'images')
    os.makedirs(images)
    input_checks_test.write_images(images, 20)
    cls._images = set(os.listdir(images))
    workdir = os.path.join(cls._base, 'run')
    testing.run(workdir, num_steps=2, data_fn=input_checks_test.folder_data(images))
    os.makedirs(os.path.join(workdir, 'checkpoints', 'ckpt-4_temp'))
    _overwrite(os.path.join(workdir, 'checkpoints', 'checkpoint.tmp0123abcd'), b'')

  @classmethod
  def tearDownClass(cls):
    shutil.rmtree(cls._base)
    super().tearDownClass()

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)
    images = os.path.join(self._base, 'images')  # Its path is in the run's configuration.
    for name in set(os.listdir(images)) - self._images:  # What an earlier case added.
      os.remove(os.path.join(images, name))

  @parameterized.named_parameters(
      ('another_configuration', lambda w, i: dict(seed=1), ValueError,
       'holds a run with a different configuration'),
      ('unreadable_run_config',
       lambda w, i: _overwrite(os.path.join(w, 'run_config.json'), b'{"bindings": '),
       ValueError, 'run_config.json.*cannot be read'),
      ('no_readable_checkpoint', _truncate_checkpoint, RuntimeError, 'no checkpoint in'),
      ('export_path_is_a_file', _export_path_is_a_file, OSError, 'export path'),
      ('data_of_another_image_shape', lambda w, i: dict(data_fn=functools.partial(
          fake.make_fake_dataset, image_shape=(28, 28, 1))), ValueError, '28, 28, 1'),
      ('bad_option', lambda w, i: dict(on_nonfinite='ignore'), ValueError, 'on_nonfinite'),
      ('data_changed', _two_images_added, input_checks.DataChangedError,
       'folder_files: 20 then, 22 now'),
      ('unreadable_image', _truncated_image_added, input_checks.DataUnreadableError,
       'is truncated'))
  def test_a_refused_run_leaves_the_workdir_byte_for_byte_unchanged(self, change, error,
                                                                    message):
    workdir, images = self.create_tempdir().full_path, os.path.join(self._base, 'images')
    shutil.copytree(os.path.join(self._base, 'run'), workdir, dirs_exist_ok=True)
    config = dict(num_steps=4, data_fn=input_checks_test.folder_data(images))
    config.update(change(workdir, images) or {})
    before = testing.hash_tree(workdir)
    entries = sorted(os.path.relpath(os.path.join(root, name), workdir)
                     for root, dirs, names in os.walk(workdir) for name in dirs + names)
    with self.assertRaisesRegex(error, message):
      testing.run(workdir, **config)
    self.assertEqual(testing.hash_tree(workdir), before)
    self.assertEqual(sorted(os.path.relpath(os.path.join(root, name), workdir)
                            for root, dirs, names in os.walk(workdir)
                            for name in dirs + names), entries)  # Debris too: not yet removed.


if __name__ == '__main__':
  tf.test.main()
