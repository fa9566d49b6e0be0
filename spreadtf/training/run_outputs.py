"""What a finished training run leaves: `metrics.json` and the generator export it describes.

At the end of a run (`training_run.train`), `finish`:

  * gathers the run's metrics (`run_metrics`) from the controller's `RunOutcome`;
  * for a completed or early-stopped run with `export=True`, exports the generator of the
    checkpoint `export_checkpoint` selects ('latest': the end of training; 'best': the best
    held-out ELBO's, restored into the model first) to `<workdir>/export`, together with
    `export_info.json` naming its step and checkpoint (staged with the SavedModel, so the two
    always agree), and records `exported_step` and `exported_checkpoint` in the metrics;
  * writes `metrics.json` last (a run is finished exactly when it says so), and the operative
    gin config again; a finished run run again keeps its `metrics.json` and export.

`read_export_info` reads the note back (`run_restoring` restores exactly the exported checkpoint).
`status_line` is the run's one-line summary the root logs last (status, steps, skipped steps,
what was exported).
"""

import json

from absl import logging
import gin
import tensorflow as tf

from spreadtf import files
from spreadtf.export import generator
from spreadtf.training import checkpoints
from spreadtf.training import workdir_layout

__all__ = ['FINISHED', 'run_metrics', 'read_export_info', 'status_line', 'finish']

FINISHED = ('completed', 'early_stopped')  # Statuses of a run that has nothing left to do.


def _read_json(path):
  """The JSON object in `path`, or None if it is missing, unreadable or not JSON."""
  try:
    with tf.io.gfile.GFile(path, 'r') as f:
      return json.load(f)
  except (tf.errors.OpError, ValueError):
    return None


def read_export_info(layout):
  """The export note of the run in `layout` (`{'step', 'checkpoint', 'export_checkpoint'}`).

  Returns:
    The dict (its `checkpoint` relative to the workdir, or None when the run had no
    checkpoint), or None when the run has no export or the export has no note.
  """
  return _read_json(layout.export_info)


def run_metrics(outcome, model, progress, options, input_saved, num_replicas):
  """The metrics of a run that ended with `outcome` (a `controller.RunOutcome`).

  Args:
    outcome: how the controller's run ended.
    model: the run's model.
    progress: the run's `RunProgress`.
    options: the run's `RunOptions`.
    input_saved: whether the checkpoints hold the input position.
    num_replicas: replicas in sync.

  Returns:
    A dict ready for strict JSON (NaN and Inf as None; a mean over no applied step as None).
  """
  result = outcome.result or {'train': {}, 'held_out': {}, 'examples_per_second': None}
  best_validation_elbo, best_step = progress.best()
  skipped, last_skipped, reason = model.nonfinite_guard.read()
  metrics = {
      'status': outcome.status, 'train_elbo': result['train'].get('elbo'),
      'validation_elbo': result['held_out'].get('elbo'), 'train_loss': result['train'].get('loss'),
      'steps': result.get('steps'), 'start_step': outcome.start_step,
      'best_validation_elbo': best_validation_elbo, 'best_step': best_step,
      'train_seconds': float(progress.train_seconds.numpy()),
      'skipped_steps': skipped, 'last_skipped_step': last_skipped if skipped else None,
      'last_skipped_reason': reason,
      'examples_per_second': result['examples_per_second'],
      'global_batch_size': options.global_batch_size, 'steps_per_loop': options.steps_per_loop,
      'input_in_checkpoint': bool(input_saved), 'num_replicas': num_replicas}
  metrics.update(outcome.extra)
  phases = outcome.spread_phases
  if phases is not None:
    skipped, last_skipped, reason = model.spread_guard.read()
    metrics.update(spread_phases=len(phases),
                   spread_steps=int(model.spread_optimizer.iterations.numpy()),
                   spread_objective_before=phases[-1]['objective_before'] if phases else None,
                   spread_objective_after=phases[-1]['objective_after'] if phases else None,
                   skipped_spread_steps=skipped,
                   last_skipped_spread_step=last_skipped if skipped else None,
                   last_skipped_spread_reason=reason)
  return files.json_ready(metrics)


def status_line(metrics):
  """One line on how a run ended: status, steps, skipped steps, what was exported."""
  line = f'run {metrics["status"]} at step {metrics.get("steps")}'
  if metrics.get('status') == 'diverged':
    in_a_row = metrics.get('skipped_in_a_row')
    where = f'step {metrics.get("diverged_step")}'
    if metrics.get('diverged_phase') == 'spread':
      where = (f'spread phase before step {metrics.get("diverged_step")}, spread step '
               f'{metrics.get("diverged_spread_step")}')
    line += (f' ({where}: {metrics.get("diverged_metric")}'
             + (f', {in_a_row} skipped in a row' if in_a_row else '') + ')')
  if metrics.get('skipped_steps'):
    line += (f'; {metrics["skipped_steps"]} step(s) skipped, not applied (the latest at step '
             f'{metrics.get("last_skipped_step")}: {metrics.get("last_skipped_reason")})')
  if metrics.get('skipped_spread_steps'):
    line += (f'; {metrics["skipped_spread_steps"]} spread step(s) skipped, not applied (the '
             f'latest at spread step {metrics.get("last_skipped_spread_step")}: '
             f'{metrics.get("last_skipped_spread_reason")})')
  exported = metrics.get('exported_step')
  line += (f'; exported the generator of step {exported}' if exported is not None
           else '; nothing exported')
  return line


def _check_finite(model):
  """Raises if a decoder weight is NaN or Inf (the export would ship it)."""
  bad = [v.path for v in model.decoder.weights
         if not bool(tf.reduce_all(tf.math.is_finite(tf.cast(v, tf.float32))))]
  if bad:
    raise FloatingPointError(f'not exporting the generator: its weights {bad} hold NaN or Inf. '
                             'Lower the learning rate, or restore an earlier checkpoint.')


def _export(model, layout, run_checkpoints, export_checkpoint):
  """Exports the generator of the selected checkpoint to `layout.export`; returns its note."""
  prefix = None
  if export_checkpoint == 'best':
    prefix = run_checkpoints.best_checkpoint
    if prefix is None:
      logging.warning("train.export_checkpoint = 'best' but no evaluation gave a finite "
                      'held-out ELBO: exporting the latest checkpoint instead.')
    else:
      checkpoints.restore_model(model, prefix, 'the trained model (to export it)')
  if prefix is None:
    export_checkpoint, prefix = 'latest', run_checkpoints.latest_checkpoint
  _check_finite(model)
  step = (checkpoints.checkpoint_step(prefix) if prefix
          else int(model.optimizer.iterations.numpy()))
  info = {'step': step, 'checkpoint': layout.relative(prefix) if prefix else None,
          'export_checkpoint': export_checkpoint}
  generator.export_generator(model.decoder, layout.export, extra_files={
      workdir_layout.EXPORT_INFO: json.dumps(info, indent=2) + '\n'})
  logging.info('exported the generator of step %d (%s) to %s', step, prefix, layout.export)
  return info


def finish(model, options, outcome, metrics, run_checkpoints, layout, output_layout):
  """Exports, writes `metrics.json` and the operative config, and cleans up (see above).

  Args:
    model: the run's model (its weights are the latest checkpoint's).
    options: the run's `RunOptions`.
    outcome: the controller's `RunOutcome`.
    metrics: `run_metrics(...)` of this call.
    run_checkpoints: the run's `checkpoints.RunCheckpoints` (this process's).
    layout: the workdir's `WorkdirLayout`.
    output_layout: where this process writes: `layout` on the chief, else its scratch
      directory's layout (deleted here).

  Returns:
    The metrics of the run: this call's, or, for a run that had already finished, the ones it
    wrote then.
  """
  chief = output_layout == layout
  kept = _read_json(layout.metrics) if outcome.was_finished else None
  if kept is not None and kept.get('status') not in FINISHED:
    kept = None
  if kept is not None:
    logging.info('already finished at step %d; keeping %s', outcome.start_step, layout.metrics)
    metrics = kept
  else:
    if options.export and outcome.status in FINISHED:
      info = _export(model, output_layout, run_checkpoints, options.export_checkpoint)
    else:
      info = read_export_info(output_layout)  # An earlier export, if any, is what ships.
    info = info or {}
    metrics = dict(metrics, exported_step=info.get('step'),
                   exported_checkpoint=info.get('checkpoint'))
    if chief:
      files.write_json(layout.metrics, metrics)
  if chief:
    files.write_text(layout.operative_config, gin.operative_config_str())
  else:
    tf.io.gfile.rmtree(output_layout.workdir)
  return metrics
