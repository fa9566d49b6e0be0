"""The gin root of delta-VAE runs: `train(workdir, strategy, seed=...)`.

`train` is orchestration, in an order that never changes a workdir it refuses:

  1. **Checks and building** (`_prepare`; nothing in the workdir is written): the options
     (`run_options.RunOptions`), a writable workdir, the model and its optimizers inside
     `strategy.scope()` (`model_building.build_model`), the input pipelines of the training and
     held-out splits (`run_inputs`, their image shape checked), the workdir's recorded
     configuration (`workdir_config`: no run of another configuration), the checkpoint to
     resume from (`checkpoints.survey`: the newest readable one), the data unchanged since it
     (`input_checks.compare_fingerprints`), the resume (`checkpoints.RunCheckpoints`: model,
     optimizers, input position, progress) or the start from `init_checkpoint`, the first
     batches readable (`input_checks.check_readable`), and a writable export path.
  2. **The first write**: the checkpoint directory put in order (`RunCheckpoints.tidy`: debris
     of interrupted saves removed, unreadable checkpoints moved aside), `run_config.json` and
     `operative_config.gin`, then TensorBoard.
  3. **Training**: `controller.Controller` runs the compiled loop and owns what happens between
     steps (summaries, checkpoints, the best checkpoint, early stopping, spread phases,
     preemption).
  4. **Results** (`run_outputs.finish`): the generator export of the selected checkpoint,
     `metrics.json` (written last), the operative config again.

Paths come from `workdir_layout.WorkdirLayout`; every file is written atomically
(`spreadtf.files`). Under multi-worker training every worker saves (the collectives need it), but
only the chief writes into the workdir proper (the others into a scratch directory deleted at the
end), and every worker resumes from the chief's checkpoints.

A run left alone on a cluster: a step with a NaN or Inf loss or gradient, or an update that
would blow the weights up (`spreadtf.nonfinite_guard`), is never applied, whether a model step or
a spread-ascent step of a learned spread; it stops the run (`on_nonfinite='stop'`,
`metrics.json` status 'diverged' with the step and phase, the last good checkpoint kept) or is
skipped and counted (`'skip_step'`: `skipped_steps`, `skipped_spread_steps`;
`max_consecutive_skipped` in a row end the run as diverged).
A checkpoint that cannot be saved (a full disk) ends the run with an error and leaves the
previous one. SIGTERM saves a checkpoint at the current step
and ends the run with status 'preempted' (`preemption`); running the same command again
continues from there, and a run killed outright continues from its latest checkpoint, ending
with the weights of an uninterrupted run. Whenever the held-out ELBO reaches a new best, that
state is saved in `<workdir>/checkpoints/best/`; `stop_after_stalled_evals` stops the run (status
'early_stopped') once it has not improved for that many evaluations in a row. The held-out split
is `run_inputs.HELD_OUT_SPLIT`; training reads no other split but the training one.

Learned spreads: with `spread_schedule` and `spread_optimizer_fn` the root alternates model steps
with spread-ascent phases (`spread_learning.SpreadPhaseHook`), checkpoints both optimizers, logs
each phase's objective before and after to TensorBoard (`spread/*`) and, for a low-rank spread,
writes the leading eigenvectors of the learned covariance as `<workdir>/spread_eigenvectors.png`
(the paper's Fig. 2d). `init_checkpoint` starts the encoder and decoder from another run (the
paper's learned injective spread starts from a fixed-spread model).

A finished run is read back through `run_restoring.restore_run` (evaluation does so).
"""

import dataclasses
import os
import typing

from absl import logging
import gin
import keras
import tensorflow as tf

from spreadtf import files
from spreadtf import nonfinite_guard
from spreadtf.training import checkpoints
from spreadtf.training import controller as controller_lib
from spreadtf.training import input_checks
from spreadtf.training import loop
from spreadtf.training import model_building
from spreadtf.training import progress as progress_lib
from spreadtf.training import run_inputs
from spreadtf.training import run_options
from spreadtf.training import run_outputs
from spreadtf.training import strategy as strategy_lib
from spreadtf.training import workdir_config
from spreadtf.training import workdir_layout

__all__ = ['STATUSES', 'train']

STATUSES = ('completed', 'early_stopped', 'diverged', 'preempted')


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


@dataclasses.dataclass
class _PreparedRun:
  """A run that has passed every check and is restored; nothing in the workdir is written yet.

  Attributes:
    layout: the workdir's layout.
    output: where this process writes: `layout` on the chief, else its scratch directory's.
    model: the built, compiled model, restored if the run resumes.
    progress: the run's `RunProgress`.
    run_checkpoints: the run's `checkpoints.RunCheckpoints`.
    iterator: iterator of global training batches, at the run's input position.
    held_out: dataset of held-out global batches, or None (no evaluations).
    probe_data: the dataset whose first batch probes spread phases.
    input_saved: whether the checkpoints hold the input position.
    config: the run's configuration (`workdir_config.make_config`).
    skip_streak: int64 variable, the steps skipped in a row (checkpointed).
    spread_skip_streak: int64 variable, the spread steps skipped in a row (checkpointed).
  """
  layout: workdir_layout.WorkdirLayout
  output: workdir_layout.WorkdirLayout
  model: typing.Any
  progress: progress_lib.RunProgress
  run_checkpoints: checkpoints.RunCheckpoints
  iterator: typing.Any
  held_out: typing.Any
  probe_data: typing.Any
  input_saved: bool
  config: dict
  skip_streak: typing.Any
  spread_skip_streak: typing.Any

  @property
  def chief(self):
    return self.output == self.layout


def _input_saved(options, train_data):
  """Whether the input position goes into the checkpoints (a warning when it cannot)."""
  problem = options.checkpoint_input and checkpoints.input_checkpoint_problem(train_data)
  if problem:
    logging.warning('the input pipeline cannot be saved in a checkpoint (%s): a resumed run '
                    'will reshuffle its data instead of continuing it exactly. Set '
                    'train.checkpoint_input = False to say so.', problem)
  return bool(options.checkpoint_input and not problem)


def _init_networks(model, path):
  """Starts the encoder and decoder from `path`: a checkpoint prefix, directory or workdir."""
  prefix = checkpoints.checkpoint_prefix(
      path, [path, workdir_layout.WorkdirLayout(path).checkpoints], 'init_checkpoint')
  return checkpoints.restore_networks(model, prefix)


def _training_data(inputs, options, found, train_data, fingerprint, input_saved):
  """The training dataset to iterate, the step it is seeded from, and whether the saved input
  position is restored.

  A run that resumes on data that changed since its checkpoint is refused, or with
  `on_data_change='reshuffle'` reads a fresh pipeline seeded from its start step
  (`input_checks.compare_fingerprints`); so does a run whose input is not saved.

  Returns:
    `(dataset, seed_step, restore_input)`.
  """
  if found.chosen is None:
    return train_data, 0, False
  reshuffle = input_checks.compare_fingerprints(
      checkpoints.read_data_fingerprint(found.chosen), fingerprint, found.chosen,
      options.on_data_change)
  if reshuffle or not input_saved:
    step = checkpoints.checkpoint_step(found.chosen)
    return inputs.train(step), step, False
  return train_data, 0, True


def _check_first_batches(run, inputs, options, seed_step, restore_input):
  """`input_checks.check_readable` on the training batch the run reads next and the held out.

  Each is read from a pipeline of its own: iterators of one `tf.data` dataset share its shuffle
  seed generator, so reading from a second iterator of the run's dataset would change the order
  of the run's later epochs.
  """
  iterator = iter(inputs.train(seed_step))
  where, advice = 'its first batch', ''
  if restore_input:
    where = f'the next batch of the input position saved in {run.run_checkpoints.resume_from!r}'
    advice = (" If the data changed since, restore it, or set train.on_data_change = "
              "'reshuffle' to read it through a fresh pipeline.")
    run.run_checkpoints.restore_input(iterator)
  input_checks.check_readable(iterator, run_inputs.TRAIN_SPLIT, 1, where, advice)
  if run.held_out is not None:
    input_checks.check_readable(iter(inputs.held_out()), run_inputs.HELD_OUT_SPLIT,
                                options.eval_steps, 'the batches of one evaluation')


def _prepare(workdir, strategy, options):
  """Every check a run makes, and its model, data and checkpoints, before any write.

  Returns:
    A `_PreparedRun`.
  """
  layout = workdir_layout.WorkdirLayout(workdir)
  output = (layout if strategy_lib.is_chief(strategy)
            else layout.worker_scratch(strategy_lib.task_id(strategy)[1]))
  _check_writable(output.workdir, 'workdir', 'choose a writable directory.')
  logging.info('Run seed %d, %d replicas. Gin config:\n%s', options.seed,
               strategy.num_replicas_in_sync, gin.config_str())
  model = model_building.build_model(options.model_fn, options.seed, strategy,
                                     options.optimizer_fn, options.spread_optimizer_fn,
                                     options.spread_schedule)
  model.nonfinite_guard.max_update_ratio = options.max_update_ratio
  model.spread_guard.max_update_ratio = options.max_update_ratio
  inputs = run_inputs.RunInputs(options.data_fn, options.seed, options.global_batch_size,
                                model.image_shape)
  train_data = inputs.train()
  held_out = inputs.held_out() if options.eval_steps else None
  config = workdir_config.make_config(train, options.arguments())  # After every configurable.
  workdir_config.check(workdir, config, train)
  found = checkpoints.survey(layout.checkpoints)
  fingerprint = input_checks.current_fingerprints(
      {run_inputs.TRAIN_SPLIT: train_data,
       **({run_inputs.HELD_OUT_SPLIT: held_out} if held_out is not None else {})})
  input_saved = _input_saved(options, train_data)
  dataset, seed_step, restore_input = _training_data(inputs, options, found, train_data,
                                                     fingerprint, input_saved)
  progress, skip_streak = progress_lib.RunProgress(), tf.Variable(0, dtype=tf.int64)
  spread_skip_streak = tf.Variable(0, dtype=tf.int64)
  iterator = iter(dataset)
  run = _PreparedRun(
      layout=layout, output=output, model=model, progress=progress,
      run_checkpoints=checkpoints.RunCheckpoints(
          model, progress, output.checkpoints, found, options.checkpoints_to_keep,
          iterator=iterator if input_saved else None, data_fingerprint=fingerprint,
          skip_streak=skip_streak, spread_skip_streak=spread_skip_streak),
      iterator=iterator, held_out=held_out,
      probe_data=held_out if held_out is not None else train_data, input_saved=input_saved,
      config=config, skip_streak=skip_streak, spread_skip_streak=spread_skip_streak)
  _resume(run, options, restore_input)
  _check_first_batches(run, inputs, options, seed_step, restore_input)
  if options.export and tf.io.gfile.exists(output.export):
    _check_writable(output.export, 'export path',
                    'make it a writable directory, move it aside, or set train.export = False.')
  return run


def _resume(run, options, restore_input):
  """Restores the newest readable checkpoint (with the input position if `restore_input`)."""
  resumed = run.run_checkpoints.restore(with_input=restore_input)
  if resumed:
    logging.info('resumed from step %d (%s)', int(run.model.optimizer.iterations.numpy()),
                 resumed)
  elif options.init_checkpoint:
    logging.info('initialised the encoder and decoder from %s',
                 _init_networks(run.model, options.init_checkpoint))


def _remove_stale_temporaries(layout):
  """Deletes what a process killed mid-write left beside the run's own files (`files`)."""
  stale = [path for target in (layout.run_config, layout.operative_config, layout.metrics,
                               layout.spread_eigenvectors, layout.export)
           for path in files.stale_temporaries(target)]
  for path in stale:
    if tf.io.gfile.isdir(path):
      tf.io.gfile.rmtree(path)
    else:
      tf.io.gfile.remove(path)
  if stale:
    logging.info('removed what writes cut short left: %s', ', '.join(stale))


def _write_configuration(run):
  """The run's first write, once every check has passed: its checkpoint directory put in order
  (`RunCheckpoints.tidy`), leftovers of killed writes removed, its configuration (the
  chief's)."""
  run.run_checkpoints.tidy(chief=run.chief)
  _remove_stale_temporaries(run.output)
  if run.chief:
    workdir_config.write(run.layout.workdir, run.config)
    files.write_text(run.layout.operative_config, gin.operative_config_str())


def _train(run, strategy, options):
  """Trains the prepared run under a `Controller`; returns its `RunOutcome`."""
  writer = (tf.summary.create_file_writer(run.layout.tensorboard) if run.chief
            else tf.summary.create_noop_writer())
  try:
    controller = controller_lib.Controller(
        run.model, strategy, options, run.run_checkpoints, run.progress, writer, run.probe_data,
        eigenvector_path=run.layout.spread_eigenvectors if run.chief else None,
        skip_streak=run.skip_streak, spread_skip_streak=run.spread_skip_streak)
    return controller.run(run.iterator, run.held_out, verbose=options.verbose and run.chief)
  finally:
    writer.close()


def _finish(run, strategy, options, outcome):
  """Writes the run's results (`run_outputs.finish`); raises if it diverged."""
  metrics = run_outputs.run_metrics(outcome, run.model, run.progress, options, run.input_saved,
                                    strategy.num_replicas_in_sync)
  metrics = run_outputs.finish(run.model, options, outcome, metrics, run.run_checkpoints,
                               run.layout, run.output)
  logging.info('%s', run_outputs.status_line(metrics))
  diverged = outcome.diverged
  if diverged is not None:
    rate = ('the spread learning rate (spread/keras.optimizers.Adam.learning_rate)'
            if diverged.phase == 'spread' else 'the learning rate')
    raise loop.DivergedError(
        diverged.step, diverged.metric, skipped_in_a_row=diverged.skipped_in_a_row,
        phase=diverged.phase, spread_step=diverged.spread_step,
        advice=f'The last good checkpoint ({run.run_checkpoints.latest_checkpoint}) is kept. '
        f'Lower {rate} and train in a new workdir (train.init_checkpoint can start it from '
        'that checkpoint)' + ("." if diverged.skipped_in_a_row is not None
                              else ", or set train.on_nonfinite = 'skip_step'.")) from diverged
  return metrics


@gin.configurable(module='spreadtf.training.training_run', denylist=['workdir', 'strategy'])
def train(workdir, strategy=None, seed=gin.REQUIRED, data_fn=gin.REQUIRED,
          model_fn=gin.REQUIRED, optimizer_fn=gin.REQUIRED, global_batch_size=100,
          num_steps=1000, steps_per_epoch=100, steps_per_loop=10, eval_steps=10,
          checkpoints_to_keep=3, num_samples=64, export=True, export_checkpoint='latest',
          on_nonfinite='stop', stop_after_stalled_evals=None, checkpoint_input=True,
          spread_schedule=None, spread_optimizer_fn=None, init_checkpoint=None,
          num_eigenvectors=20, verbose=True, on_data_change='refuse',
          max_consecutive_skipped=100,
          max_update_ratio=nonfinite_guard.DEFAULT_MAX_UPDATE_RATIO):
  """Trains a SpreadVAE (or the VAE baseline), resuming from `workdir` if it holds checkpoints.

  Args:
    workdir: output directory (created).
    strategy: a `tf.distribute.Strategy` (None: the default strategy).
    seed: the run's single integer seed; data, model noise and sample seeds derive from it.
    data_fn: `fn(split, global_batch_size, seed) -> tf.data.Dataset` of image batches; training
      reads the 'train' split and the held-out split `run_inputs.HELD_OUT_SPLIT`.
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
    export_checkpoint: which checkpoint's generator is exported: 'latest' (the end of
      training) or 'best' (the best held-out ELBO's; needs evaluations). `metrics.json` records
      its `exported_step`, and `run_restoring.restore_run(which='selected')` restores it.
    on_nonfinite: 'stop' (raise `loop.DivergedError` at a step with a NaN or Inf loss or
      gradient, or an update that would blow the weights up) or 'skip_step' (do not apply
      such steps; count and log them, up to `max_consecutive_skipped` in a row). The same for
      the spread-ascent steps of a learned spread (counted apart: `skipped_spread_steps`).
    stop_after_stalled_evals: None, or stop once the held-out ELBO has not improved for this
      many evaluations in a row.
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
    on_data_change: what a resumed run does when the data it reads changed since its
      checkpoint (`input_checks`): 'refuse' (an error naming what changed; nothing written) or
      'reshuffle' (resume the model, optimizers and progress, read the new data through a
      fresh pipeline, and log it). May differ between calls on one workdir.
    max_consecutive_skipped: under `on_nonfinite='skip_step'`, the run ends as diverged once
      this many steps in a row were skipped: an int (steps), a float in (0, 1] (a fraction of
      an epoch) or None (no limit). Spread steps in a row (across phases) have the same limit.
    max_update_ratio: a step whose update is larger than this many times the weights' norm
      (max(||w||, 1)) is refused like a NaN (`spreadtf.nonfinite_guard`); None: no bound. The
      spread's steps are bounded by the same ratio of the spread's variables.

  Returns:
    The metrics dict also written to `<workdir>/metrics.json`; its `status` is one of
    `STATUSES` ('preempted': run the same call again to continue).

  Raises:
    loop.DivergedError: under `on_nonfinite='stop'`, after writing `metrics.json`.
    ValueError: for bad options, a workdir that holds a run of another configuration, data
      that changed since the checkpoint (`input_checks.DataChangedError`) or whose first
      batches cannot be read (`input_checks.DataUnreadableError`); nothing is written.
    OSError: if the workdir or the export path cannot be written (nothing is written), or a
      checkpoint cannot be saved (`checkpoints.CheckpointWriteError`: the previous one and
      `metrics.json` are unchanged).
    RuntimeError: if no checkpoint in the workdir can be read.
  """
  keras.utils.set_random_seed(seed)
  options = run_options.RunOptions(
      seed=seed, data_fn=data_fn, model_fn=model_fn, optimizer_fn=optimizer_fn,
      global_batch_size=global_batch_size, num_steps=num_steps, steps_per_epoch=steps_per_epoch,
      steps_per_loop=steps_per_loop, eval_steps=eval_steps,
      checkpoints_to_keep=checkpoints_to_keep, num_samples=num_samples, export=export,
      export_checkpoint=export_checkpoint, on_nonfinite=on_nonfinite,
      stop_after_stalled_evals=stop_after_stalled_evals, checkpoint_input=checkpoint_input,
      spread_schedule=spread_schedule, spread_optimizer_fn=spread_optimizer_fn,
      init_checkpoint=init_checkpoint, num_eigenvectors=num_eigenvectors, verbose=verbose,
      on_data_change=on_data_change, max_consecutive_skipped=max_consecutive_skipped,
      max_update_ratio=max_update_ratio)
  strategy = strategy or tf.distribute.get_strategy()
  run = _prepare(workdir, strategy, options)  # 1. Every check; nothing written in the workdir.
  _write_configuration(run)                   # 2. The first write.
  outcome = _train(run, strategy, options)    # 3. The controller's run.
  return _finish(run, strategy, options, outcome)  # 4. Export, metrics.json.
