"""The controller of a training run: what happens between compiled steps, and when.

In the style of TF Model Garden's Orbit (`orbit.Controller` with its train actions), the
controller owns the cadence of a run around the compiled inner loop (`loop.train_loop`, which
runs host loops of `steps_per_loop` steps and evaluates the held-out split at every epoch end):

  * before a model step where the spread schedule is due: a spread-ascent phase
    (`spread_learning.SpreadPhaseHook`), with its summaries;
  * after every host loop: the preemption check (`preemption`: SIGTERM saves a checkpoint at
    the current step and stops the run);
  * at every epoch end: TensorBoard summaries and a sample grid, the best-checkpoint tracking
    (a new best held-out ELBO saves `best/`, before the latest checkpoint, so a resume redoes
    it), the latest checkpoint, and early stopping (`stop_after_stalled_evals`);
  * a refused step (a NaN or Inf loss or gradient, or an exploding update), of the model or of
    a spread phase, ends the run as diverged with the last good checkpoint kept under
    `on_nonfinite='stop'`; under 'skip_step', `max_consecutive_skipped` of them in a row do
    (model steps and spread steps counted apart).

`Controller.run` turns how the loop ended into a `RunOutcome`; the training root
(`training_run`) writes the run's results from it (`run_outputs`).
"""

import dataclasses
import time

from absl import logging
import tensorflow as tf

from spreadtf import seeding
from spreadtf.training import loop
from spreadtf.training import preemption
from spreadtf.training import run_inputs
from spreadtf.training import spread_learning
from spreadtf.training import summaries

__all__ = ['RunOutcome', 'Controller']


@dataclasses.dataclass
class RunOutcome:
  """How a call of `Controller.run` ended.

  Attributes:
    status: 'completed', 'early_stopped', 'diverged' or 'preempted'.
    start_step: the step the run started (or resumed) at.
    was_finished: True if the run had nothing left to do when it started.
    result: `loop.train_loop`'s result (last train and held-out logs, steps, examples/s), or
      None when the loop did not return.
    extra: metrics particular to the status (the diverged step and metric, the preempted
      step).
    diverged: the `loop.DivergedError` of a diverged run, else None.
    spread_phases: the logs of this call's spread phases, or None without spread learning.
  """
  status: str
  start_step: int
  was_finished: bool
  result: dict | None = None
  extra: dict = dataclasses.field(default_factory=dict)
  diverged: loop.DivergedError | None = None
  spread_phases: list | None = None


class Controller:
  """Runs a built, restored model from its current step to `options.num_steps`."""

  def __init__(self, model, strategy, options, run_checkpoints, progress, writer, probe_data,
               eigenvector_path=None, skip_streak=None, spread_skip_streak=None):
    """Sets up the run's actions (nothing is written).

    Args:
      model: the built, compiled, restored `SpreadVAE`.
      strategy: the strategy that built it.
      options: the run's `RunOptions`.
      run_checkpoints: the run's `checkpoints.RunCheckpoints`.
      progress: the run's `RunProgress` (saved in its checkpoints).
      writer: the `tf.summary` writer of the run's TensorBoard directory (a no-op writer off
        the chief).
      probe_data: dataset whose first batch probes spread phases (the held-out split, or the
        training split without evaluations); unused without spread learning.
      eigenvector_path: where a learned low-rank spread's eigenvectors go as PNG, or None.
      skip_streak: None, or the int64 variable of steps skipped in a row (checkpointed).
      spread_skip_streak: None, or the int64 variable of spread steps skipped in a row
        (checkpointed).
    """
    self._model = model
    self._strategy = strategy
    self._options = options
    self._checkpoints = run_checkpoints
    self._progress = progress
    self._writer = writer
    self._skip_streak = skip_streak
    self._sample_seed = tf.constant(seeding.stateless_seed(options.seed, 'samples'))
    self._spread_hook = None
    if options.spread_schedule is not None:
      self._spread_hook = spread_learning.SpreadPhaseHook(
          model, strategy, options.spread_schedule, probe_data, writer, eigenvector_path,
          options.num_eigenvectors, on_nonfinite=options.on_nonfinite,
          limit=loop.consecutive_limit(options.on_nonfinite, options.max_consecutive_skipped,
                                       options.steps_per_epoch),
          skip_streak=spread_skip_streak)
    self._seconds_before = 0.
    self._started = 0.

  def is_finished(self, step):
    """True if a run at `step` has nothing left to do (all steps done, or stopped early)."""
    return (step >= self._options.num_steps
            or self._progress.is_stalled(self._options.stop_after_stalled_evals))

  def _record_time(self):
    """Stores the training seconds of all attempts so far in the run's progress."""
    self._progress.train_seconds.assign(self._seconds_before + time.monotonic() - self._started)

  def _save(self, step):
    self._record_time()
    self._checkpoints.save(step)

  def _on_epoch_end(self, step, train_logs, held_out_logs):
    """Summaries, best checkpoint, latest checkpoint, early stopping; True stops the run."""
    options, progress = self._options, self._progress
    summaries.write_epoch_summaries(self._writer, step, train_logs, held_out_logs,
                                    self._model.sample(options.num_samples, self._sample_seed))
    if 'elbo' in held_out_logs and progress.record_evaluation(step, held_out_logs['elbo']):
      self._record_time()
      self._checkpoints.save_best(step)  # Before the latest: a resume redoes it.
    self._save(step)
    counts = {'steps': self._model.nonfinite_guard.read()[0]}
    if self._spread_hook is not None:
      counts['spread steps'] = self._model.spread_guard.read()[0]
    skipped = ', '.join(f'{count} {what}' for what, count in counts.items() if count)
    logging.info('step %d: train %s %s %s%s', step, train_logs, run_inputs.HELD_OUT_SPLIT,
                 held_out_logs, f' ({skipped} skipped so far)' if skipped else '')
    if progress.is_stalled(options.stop_after_stalled_evals):
      logging.info('early stopping at step %d: the held-out ELBO has not improved for %d '
                   'evaluations (best %s at step %s).', step, options.stop_after_stalled_evals,
                   *progress.best())
      return True
    return False

  def run(self, iterator, held_out_data, verbose=True):
    """Trains from the model's step to `num_steps` (none if the run is finished).

    Args:
      iterator: iterator of global training batches (saved in the checkpoints, or not).
      held_out_data: dataset of held-out global batches, or None (no evaluations).
      verbose: show a progress bar.

    Returns:
      A `RunOutcome`; the training seconds are recorded in the run's progress.
    """
    options = self._options
    start_step = int(self._model.optimizer.iterations.numpy())
    outcome = RunOutcome(status='completed', start_step=start_step,
                         was_finished=self.is_finished(start_step))
    self._seconds_before = float(self._progress.train_seconds.numpy())
    self._started = time.monotonic()
    handler = preemption.make_handler(self._strategy, self._checkpoints.preemption_manager(),
                                      self._save)
    logging.info('training from step %d to %d', start_step, options.num_steps)
    try:
      outcome.result = loop.train_loop(
          self._model, self._strategy, iterator, held_out_data,
          num_steps=start_step if outcome.was_finished else options.num_steps,
          steps_per_epoch=options.steps_per_epoch, eval_steps=options.eval_steps,
          steps_per_loop=options.steps_per_loop, on_nonfinite=options.on_nonfinite,
          before_step=self._spread_hook, on_epoch_end=self._on_epoch_end,
          on_loop_end=handler.check, verbose=verbose,
          max_consecutive_skipped=options.max_consecutive_skipped,
          skip_streak=self._skip_streak)
      if self._progress.is_stalled(options.stop_after_stalled_evals):
        outcome.status = 'early_stopped'
    except loop.DivergedError as e:
      outcome.status, outcome.diverged = 'diverged', e
      outcome.extra = {'steps': e.step, 'diverged_step': e.step, 'diverged_metric': e.metric,
                       'diverged_phase': e.phase, 'skipped_in_a_row': e.skipped_in_a_row,
                       'last_checkpoint': self._checkpoints.latest_checkpoint}
      if e.phase == 'spread':
        outcome.extra['diverged_spread_step'] = e.spread_step
    except preemption.Preempted as e:
      outcome.status, outcome.extra = 'preempted', {'steps': e.step}
    finally:
      handler.close()
    self._record_time()
    if self._spread_hook is not None:
      outcome.spread_phases = list(self._spread_hook.phases)
    return outcome
