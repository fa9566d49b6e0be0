"""The gin root of delta-VAE runs: `train(workdir, strategy, seed=...)`.

It builds data (global batches), the model and the optimizer inside `strategy.scope()`, checks
the workdir (writable; no run of another configuration in it, `run_config`), resumes from the
latest checkpoint in `<workdir>/checkpoints` (model, optimizer, input position, progress), runs
`loop.train_loop`, and writes `run_config.json`, `operative_config.gin`, TensorBoard summaries
(`<workdir>/tensorboard`), `metrics.json` and the generator SavedModel (`<workdir>/export`);
every file is written atomically (`spreadtf.files`). Under multi-worker training every worker
saves (the collectives need it), but only the chief writes into the workdir proper, and every
worker resumes from the chief's checkpoints. Checkpoint I/O lives in `checkpoints`, named
sub-seeds from `spreadtf.seeding`.

A run left alone on a cluster: a step with a NaN or Inf loss or gradient is never applied; it
stops the run (`on_nonfinite='stop'`, `metrics.json` status 'diverged', the last good checkpoint
kept) or is skipped and counted (`'skip_step'`). SIGTERM saves a checkpoint at the current step
and ends the run with status 'preempted' (`preemption`); running the same command again
continues from there, and a run killed outright continues from its latest checkpoint, ending
with the weights of an uninterrupted run. Whenever the test ELBO reaches a new best, that state
is saved in `<workdir>/checkpoints/best/`; `stop_after_stalled_evals` stops the run (status
'early_stopped') once it has not improved for that many evaluations in a row.

Learned spreads: with `spread_schedule` and `spread_optimizer_fn` the root alternates model steps
with spread-ascent phases (`spread_learning.SpreadPhaseHook`), checkpoints both optimizers, logs
each phase's objective before and after to TensorBoard (`spread/*`) and, for a low-rank spread,
writes the leading eigenvectors of the learned covariance as `<workdir>/spread_eigenvectors.png`
(the paper's Fig. 2d). `init_checkpoint` starts the encoder and decoder from another run (the
paper's learned injective spread starts from a fixed-spread model).
"""

import json
import os
import time

from absl import logging
import gin
import keras
import tensorflow as tf

from spreadtf import files
from spreadtf import seeding
from spreadtf.data import pipeline
from spreadtf.export import generator
from spreadtf.training import checkpoints
from spreadtf.training import loop
from spreadtf.training import preemption
from spreadtf.training import progress as progress_lib
from spreadtf.training import spread_learning
from spreadtf.training import strategy as strategy_lib
from spreadtf.training import summaries
from spreadtf.training import workdir_config

__all__ = ['STATUSES', 'train']

STATUSES = ('completed', 'early_stopped', 'diverged', 'preempted')


def _read_json(path):
  """The JSON object in `path`, or None if it is missing or not JSON."""
  try:
    with tf.io.gfile.GFile(path, 'r') as f:
      return json.load(f)
  except (tf.errors.NotFoundError, ValueError):
    return None


def _check_writable(directory, what, advice):
  """Creates `directory` if needed and writes and deletes a probe file in it.

  Raises:
    OSError: naming `directory` and saying what to do. Nothing existing is changed.
  """
  try:
    if tf.io.gfile.exists(directory) and not tf.io.gfile.isdir(directory):
      raise OSError('it is a file')
    tf.io.gfile.makedirs(directory)
    probe = files.write_bytes(files.temporary_name(os.path.join(directory, 'probe')), b'')
    tf.io.gfile.remove(probe)
  except (OSError, tf.errors.OpError) as e:
    reason = e.message if isinstance(e, tf.errors.OpError) else str(e)
    raise OSError(f'cannot write to the {what} {directory!r}: {reason}. Nothing was changed; '
                  f'{advice}') from e


def _check_options(on_nonfinite, steps_per_loop, stop_after_stalled_evals, eval_steps):
  if on_nonfinite not in loop.ON_NONFINITE:
    raise ValueError(f'train.on_nonfinite must be one of {loop.ON_NONFINITE}, got '
                     f'{on_nonfinite!r}.')
  if not isinstance(steps_per_loop, int) or steps_per_loop < 1:
    raise ValueError(f'train.steps_per_loop must be an int >= 1, got {steps_per_loop!r}.')
  if stop_after_stalled_evals is not None:
    if not isinstance(stop_after_stalled_evals, int) or stop_after_stalled_evals < 1:
      raise ValueError('train.stop_after_stalled_evals must be None or an int >= 1, got '
                       f'{stop_after_stalled_evals!r}.')
    if not eval_steps:
      raise ValueError('train.stop_after_stalled_evals needs evaluations: set train.eval_steps '
                       '> 0.')


@gin.configurable(module='spreadtf.training.training_run', denylist=['workdir', 'strategy'])
def train(workdir, strategy=None, seed=gin.REQUIRED, data_fn=gin.REQUIRED,
          model_fn=gin.REQUIRED, optimizer_fn=gin.REQUIRED, global_batch_size=100,
          num_steps=1000, steps_per_epoch=100, steps_per_loop=10, eval_steps=10,
          checkpoints_to_keep=3, num_samples=64, export=True, on_nonfinite='stop',
          stop_after_stalled_evals=None, checkpoint_input=True, spread_schedule=None,
          spread_optimizer_fn=None, init_checkpoint=None, num_eigenvectors=20, verbose=True):
  """Trains a SpreadVAE (or the VAE baseline), resuming from `workdir` if it holds checkpoints.

  Args:
    workdir: output directory (created).
    strategy: a `tf.distribute.Strategy` (None: the default strategy).
    seed: the run's single integer seed; data, model noise and sample seeds derive from it.
    data_fn: `fn(split, global_batch_size, seed) -> tf.data.Dataset` of image batches.
    model_fn: `fn(seed=) -> SpreadVAE`, e.g. `spread_vae.make_spread_vae`.
    optimizer_fn: zero-argument optimizer constructor, e.g. `keras.optimizers.Adam`.
    global_batch_size: batch over all replicas.
    num_steps: total optimizer steps (a finished run continues if it is raised).
    steps_per_epoch: steps between evaluations, summaries, sample grids and checkpoints.
    steps_per_loop: at most this many steps per compiled host loop (`loop.train_loop`).
    eval_steps: held-out batches per evaluation (0: none).
    checkpoints_to_keep: `tf.train.CheckpointManager` max_to_keep.
    num_samples: images in the sample grid (from fixed latent codes).
    export: export the generator to `<workdir>/export` at the end.
    on_nonfinite: 'stop' (raise `loop.DivergedError` at a step with a NaN or Inf loss or
      gradient) or 'skip_step' (do not apply such steps; count and log them).
    stop_after_stalled_evals: None, or stop once the test ELBO has not improved for this many
      evaluations in a row.
    checkpoint_input: save the input iterator (with its shuffle buffer) in every checkpoint, so
      a resumed run reads the batches an uninterrupted one would. False keeps checkpoints small
      (for large shuffle buffers); a resumed run then reshuffles from a seed folded with its
      start step.
    spread_schedule: None, or a `spread_learning.SpreadSchedule` of spread-ascent phases
      (needs a learned spread and `spread_optimizer_fn`).
    spread_optimizer_fn: zero-argument constructor of the spread optimizer (the paper: Adam at
      1e-5), or None.
    init_checkpoint: None, or a checkpoint (prefix, directory or workdir) whose encoder and
      decoder start a fresh run (ignored when resuming from `workdir`).
    num_eigenvectors: leading eigenvectors in the low-rank spread diagnostic (at most the rank).
    verbose: show a progress bar.

  Returns:
    The metrics dict also written to `<workdir>/metrics.json`; its `status` is one of
    `STATUSES` ('preempted': run the same call again to continue).

  Raises:
    loop.DivergedError: under `on_nonfinite='stop'`, after writing `metrics.json`.
    ValueError: for bad options or a workdir that holds a run of another configuration.
    OSError: if the workdir or the export path cannot be written.
    RuntimeError: if a checkpoint in the workdir cannot be read.
  """
  keras.utils.set_random_seed(seed)
  arguments = {k: v for k, v in locals().items() if k not in ('workdir', 'strategy')}
  _check_options(on_nonfinite, steps_per_loop, stop_after_stalled_evals, eval_steps)
  strategy = strategy or tf.distribute.get_strategy()
  chief = strategy_lib.is_chief(strategy)
  outdir = workdir if chief else os.path.join(
      workdir, f'.worker_{strategy_lib.task_id(strategy)[1]}')
  _check_writable(outdir, 'workdir', 'choose a writable directory.')
  logging.info('Run seed %d, %d replicas. Gin config:\n%s', seed,
               strategy.num_replicas_in_sync, gin.config_str())

  with strategy.scope():
    model = model_fn(seed=seeding.sub_seed(seed, 'model'))
    model(tf.zeros((1,) + model.image_shape), training=False)  # Creates the variables.
    optimizer = optimizer_fn()
    spread_optimizer = spread_learning.make_spread_optimizer(model, spread_optimizer_fn,
                                                             spread_schedule)
    model.compile(optimizer=optimizer, spread_optimizer=spread_optimizer)
    optimizer.build(model.trainable_variables)

  def make_data(split, start_step=0):
    dataset = data_fn(split=split, global_batch_size=global_batch_size,
                      seed=seeding.sub_seed(seed, f'data/{start_step}'))
    return pipeline.check_image_shape(dataset, model.image_shape)  # before any file is written

  train_data = make_data('train')
  test_data = make_data('test') if eval_steps else None
  config = workdir_config.make_config(train, arguments)  # After every configurable was called.
  workdir_config.check(workdir, config, train)

  problem = checkpoint_input and checkpoints.input_checkpoint_problem(train_data)
  if problem:
    logging.warning('the input pipeline cannot be saved in a checkpoint (%s): a resumed run '
                    'will reshuffle its data instead of continuing it exactly. Set '
                    'train.checkpoint_input = False to say so.', problem)
  input_saved = checkpoint_input and not problem
  progress = progress_lib.RunProgress()
  iterator = iter(train_data)
  checkpoint = checkpoints.make_checkpoint(
      model, optimizer, progress=progress, **({'data': iterator} if input_saved else {}))
  checkpoint_dir = os.path.join(outdir, 'checkpoints')
  manager = tf.train.CheckpointManager(checkpoint, checkpoint_dir,
                                       max_to_keep=checkpoints_to_keep)
  # Every worker resumes from the chief's checkpoints: all start at the same step and input.
  restore_manager = manager if chief else tf.train.CheckpointManager(
      checkpoint, os.path.join(workdir, 'checkpoints'), max_to_keep=checkpoints_to_keep)
  resumed = checkpoints.restore_latest(checkpoint, restore_manager)
  start_step = int(optimizer.iterations.numpy())
  if resumed:
    logging.info('resumed from step %d (%s)', start_step, resumed)
    if not input_saved:
      iterator = iter(make_data('train', start_step))
  elif init_checkpoint:
    logging.info('initialised the encoder and decoder from %s',
                 checkpoints.restore_networks(model, init_checkpoint))
  export_path = os.path.join(outdir, 'export')
  if export and tf.io.gfile.exists(export_path):
    _check_writable(export_path, 'export path',
                    'make it a writable directory, move it aside, or set train.export = False.')
  best_manager = tf.train.CheckpointManager(
      checkpoints.make_checkpoint(model, optimizer, progress=progress),
      os.path.join(checkpoint_dir, checkpoints.BEST), max_to_keep=1)

  # Every check has passed: from here on the run writes into the workdir.
  if chief:
    workdir_config.write(workdir, config)
    files.write_text(os.path.join(workdir, 'operative_config.gin'), gin.operative_config_str())
  writer = (tf.summary.create_file_writer(os.path.join(workdir, 'tensorboard')) if chief
            else tf.summary.create_noop_writer())
  sample_seed = tf.constant([seeding.sub_seed(seed, 'samples'), 0], tf.int32)
  seconds_before = float(progress.train_seconds.numpy())
  loop_start = time.monotonic()

  def record_time():
    progress.train_seconds.assign(seconds_before + time.monotonic() - loop_start)

  def save(step):
    record_time()
    if manager.latest_checkpoint != os.path.join(checkpoint_dir, f'ckpt-{step}'):
      manager.save(checkpoint_number=step)

  def on_epoch_end(step, train_logs, test_logs):
    summaries.write_epoch_summaries(writer, step, train_logs, test_logs,
                                    model.sample(num_samples, sample_seed))
    if 'elbo' in test_logs and progress.record_evaluation(step, test_logs['elbo']):
      record_time()
      best_manager.save(checkpoint_number=step)  # Before the latest: a resume redoes it.
    save(step)
    logging.info('step %d: train %s test %s', step, train_logs, test_logs)
    if progress.is_stalled(stop_after_stalled_evals):
      logging.info('early stopping at step %d: the test ELBO has not improved for %d '
                   'evaluations (best %s at step %s).', step, stop_after_stalled_evals,
                   *progress.best())
      return True
    return False

  before_step = None
  if spread_schedule is not None:
    before_step = spread_learning.SpreadPhaseHook(
        model, strategy, spread_schedule, test_data if test_data is not None else train_data,
        writer, os.path.join(workdir, 'spread_eigenvectors.png') if chief else None,
        num_eigenvectors)

  finished = start_step >= num_steps or progress.is_stalled(stop_after_stalled_evals)
  handler = preemption.make_handler(strategy, restore_manager, save)
  result, extra = None, {}
  logging.info('training from step %d to %d', start_step, num_steps)
  try:
    result = loop.train_loop(
        model, strategy, iterator, test_data, num_steps=start_step if finished else num_steps,
        steps_per_epoch=steps_per_epoch, eval_steps=eval_steps, steps_per_loop=steps_per_loop,
        on_nonfinite=on_nonfinite, before_step=before_step, on_epoch_end=on_epoch_end,
        on_loop_end=handler.check, verbose=verbose and chief)
    status = ('early_stopped' if progress.is_stalled(stop_after_stalled_evals)
              else 'completed')
  except loop.DivergedError as e:
    status, diverged = 'diverged', e
    extra = {'steps': e.step, 'diverged_step': e.step, 'diverged_metric': e.metric,
             'last_checkpoint': manager.latest_checkpoint}
  except preemption.Preempted as e:
    status, extra = 'preempted', {'steps': e.step}
  finally:
    handler.close()
    writer.close()
  record_time()

  result = result or {'train': {}, 'test': {}, 'examples_per_second': None}
  best_test_elbo, best_step = progress.best()
  metrics = {
      'status': status, 'train_elbo': result['train'].get('elbo'),
      'test_elbo': result['test'].get('elbo'), 'train_loss': result['train'].get('loss'),
      'steps': result.get('steps'), 'start_step': start_step,
      'best_test_elbo': best_test_elbo, 'best_step': best_step,
      'train_seconds': float(progress.train_seconds.numpy()),
      'skipped_steps': model.nonfinite_guard.read()[0],
      'examples_per_second': result['examples_per_second'],
      'global_batch_size': global_batch_size, 'steps_per_loop': steps_per_loop,
      'input_in_checkpoint': bool(input_saved),
      'num_replicas': strategy.num_replicas_in_sync}
  metrics.update(extra)
  if before_step is not None:
    phases = before_step.phases
    metrics.update(spread_phases=len(phases),
                   spread_steps=int(model.spread_optimizer.iterations.numpy()),
                   spread_objective_before=phases[-1]['objective_before'] if phases else None,
                   spread_objective_after=phases[-1]['objective_after'] if phases else None)
  metrics = files.json_ready(metrics)
  metrics_path = os.path.join(workdir, 'metrics.json')
  kept = _read_json(metrics_path) if finished else None  # Written last: the export is done.
  if kept is not None and kept.get('status') not in ('completed', 'early_stopped'):
    kept = None
  if export and status in ('completed', 'early_stopped') and kept is None:
    generator.export_generator(model.decoder, export_path)
  if kept is not None:
    logging.info('already finished at step %d; keeping %s', start_step, metrics_path)
    metrics = kept
  elif chief:
    files.write_json(metrics_path, metrics)
  if chief:
    files.write_text(os.path.join(workdir, 'operative_config.gin'), gin.operative_config_str())
  else:
    tf.io.gfile.rmtree(outdir)
  if status == 'diverged':
    raise loop.DivergedError(
        diverged.step, diverged.metric,
        advice=f'The last good checkpoint ({manager.latest_checkpoint}) is kept. Lower the '
        'learning rate and train in a new workdir (train.init_checkpoint can start it from that '
        "checkpoint), or set train.on_nonfinite = 'skip_step'.") from diverged
  return metrics
