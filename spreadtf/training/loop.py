"""The one training loop: several `strategy.run(model.train_step)` per `tf.function` call.

The same loop serves every strategy (Keras' `model.fit` fails under MultiWorkerMirroredStrategy,
keras-team/keras#20585). Global batches come from one plain `tf.data` iterator, which a
`tf.train.Checkpoint` can save (the iterator of a distributed dataset cannot), and each step
splits its batch over the replicas (`strategy.split_batch`). A host loop runs up to
`steps_per_loop` steps inside one compiled `tf.range` loop, as TF Model Garden's Orbit does; it
ends early at an epoch end and before a step where a `before_step` hook is due. After each
epoch the loop evaluates `eval_steps` held-out batches and hands both metric dicts to a
callback that does the I/O (summaries, checkpoints); nothing inside the compiled step has side
effects.

Refused steps: `SpreadVAE.train_step` applies no update when its loss or a gradient is NaN or
Inf, or when the update would blow the weights up (`spreadtf.nonfinite_guard`), and counts the
step in `model.nonfinite_guard`. The compiled loop follows how many steps in a row were refused
and breaks once that reaches a limit: 1 with `on_nonfinite='stop'` (right after such a step; the
host raises `DivergedError` naming it), `max_consecutive_skipped` with `'skip_step'` (the run is
diverged too; before that, skipped steps are logged and training goes on). The host reads the
counters once per host loop (a local read, no collective), through `RefusedSteps`. An epoch
whose steps were all skipped has no training means: they are None, not 0. Spread-ascent phases
(`spread_learning`) run `SpreadVAE.spread_step` through the same compiled loop and
`RefusedSteps`, with the model's `spread_guard` and a `DivergedError` of phase 'spread'.
"""

import math
import time

from absl import logging
import keras
import tensorflow as tf

from spreadtf.training import run_options
from spreadtf.training import strategy as strategy_lib

__all__ = ['ON_NONFINITE', 'PHASES', 'DivergedError', 'RefusedSteps', 'consecutive_limit',
           'make_loop_fn', 'read_metrics', 'evaluate', 'train_loop']

ON_NONFINITE = run_options.ON_NONFINITE


PHASES = ('model', 'spread')  # What a refused step was: a model step or a spread-ascent step.

_REASONS = {
    'model': {
        'loss': 'the loss is NaN or Inf', 'gradient': 'the gradient is NaN or Inf',
        'update': ('the update would have blown the weights up (NaN or Inf, or larger than '
                   'max_update_ratio times their norm)')},
    'spread': {
        'loss': 'the spread objective is NaN or Inf',
        'gradient': 'a gradient of the spread is NaN or Inf',
        'update': ("the update would have blown the spread's variables up (NaN or Inf, or "
                   'larger than max_update_ratio times their norm)')}}


def _reason(metric, phase):
  return _REASONS[phase].get(metric, f'the {metric} is NaN or Inf')


def _diverged_message(step, metric, skipped_in_a_row, phase, spread_step):
  reason = _reason(metric, phase)
  if phase == 'model':
    where, what, latest = f'at step {step}', 'steps', 'the latest'
  else:
    where = f'in the spread phase before step {step}'
    what, latest = 'spread steps', f'the latest (spread step {spread_step})'
    if skipped_in_a_row is None:
      where += f', at spread step {spread_step}'
  if skipped_in_a_row is None:
    return f'training diverged {where}: {reason}; the update of that step was not applied.'
  return (f'training diverged {where}: {skipped_in_a_row} {what} in a row were skipped (the '
          f'limit, train.max_consecutive_skipped), {latest} because {reason}; none of them was '
          'applied.')


class DivergedError(FloatingPointError):
  """Training refused a step (`on_nonfinite='stop'`) or too many in a row (`'skip_step'`).

  Attributes:
    step: the (latest) refused model step (`optimizer.iterations` when it ran; not applied),
      or, for a spread-ascent step, the model step before which its phase ran.
    metric: why it was refused: 'loss' (NaN or Inf), 'gradient' (the loss was finite but a
      gradient was not) or 'update' (the update would have blown the weights up).
    skipped_in_a_row: None for a single refused step, or how many steps in a row were skipped
      (the limit `max_consecutive_skipped` was reached).
    phase: 'model' (a `train_step`) or 'spread' (a `spread_step` of a spread phase).
    spread_step: for phase 'spread', the refused spread step (`spread_optimizer.iterations`
      when it ran); else None.
  """

  def __init__(self, step, metric, advice='', skipped_in_a_row=None, phase='model',
               spread_step=None):
    if phase not in PHASES:
      raise ValueError(f'phase must be one of {PHASES}, got {phase!r}.')
    self.step = step
    self.metric = metric
    self.skipped_in_a_row = skipped_in_a_row
    self.phase = phase
    self.spread_step = spread_step
    message = _diverged_message(step, metric, skipped_in_a_row, phase, spread_step)
    super().__init__(message + (' ' + advice if advice else ''))


def consecutive_limit(on_nonfinite, max_consecutive_skipped, steps_per_epoch):
  """How many refused steps in a row end a run: an int, or None for no limit.

  Args:
    on_nonfinite: 'stop' (1: the first refused step) or 'skip_step'.
    max_consecutive_skipped: for 'skip_step': an int >= 1 (steps), a float in (0, 1] (that
      fraction of an epoch, rounded up), or None (no limit).
    steps_per_epoch: steps per epoch.
  """
  if on_nonfinite == 'stop':
    return 1
  if isinstance(max_consecutive_skipped, float):
    return max(1, math.ceil(max_consecutive_skipped * steps_per_epoch))
  return max_consecutive_skipped


def make_loop_fn(strategy, step_fn, guard=None, limit=1):
  """Compiles `run(iterator, num_steps, in_a_row)`: up to `num_steps` calls of `step_fn`.

  Args:
    strategy: the strategy whose scope built the model.
    step_fn: per-replica `fn(batch)`, e.g. `model.train_step`.
    guard: None, or a `NonfiniteGuard` whose refused steps the loop follows.
    limit: with a guard: the loop breaks once this many steps in a row were refused (1: right
      after the first); None never breaks.

  Returns:
    A `tf.function` taking a `tf.data` iterator of global batches, a scalar int32 tensor (pass a
    tensor: a Python int retraces for every value) and optionally how many steps in a row were
    refused before it (int64 tensor, default 0); it returns that count after its steps.
  """

  @tf.function
  def run(iterator, num_steps, in_a_row=None):
    in_a_row = (tf.constant(0, tf.int64) if in_a_row is None
                else tf.cast(in_a_row, tf.int64))
    if guard is None:
      for _ in tf.range(num_steps):
        strategy.run(step_fn, args=(strategy_lib.split_batch(strategy, next(iterator)),))
      return in_a_row
    count = guard.count.read_value()
    for _ in tf.range(num_steps):
      strategy.run(step_fn, args=(strategy_lib.split_batch(strategy, next(iterator)),))
      new_count = guard.count.read_value()
      in_a_row = tf.where(new_count > count, in_a_row + 1, tf.zeros_like(in_a_row))
      count = new_count
      if limit is not None and in_a_row >= limit:
        break
    return in_a_row

  return run


def read_metrics(model, reset=True):
  """`{name: float or None}` of the model's metrics (cross-replica), optionally resetting them.

  A mean over nothing (an epoch whose steps were all skipped) is None, not the 0 Keras reports.
  """
  logs = {}
  for metric in model.metrics:
    count = getattr(metric, 'count', None)  # Keras means: how many values they averaged.
    empty = count is not None and float(tf.convert_to_tensor(count)) == 0.
    logs[metric.name] = None if empty else float(metric.result())
  if reset:
    for metric in model.metrics:
      metric.reset_state()
  return logs


def evaluate(model, eval_fn, held_out_dataset, eval_steps):
  """Runs `eval_steps` batches from the start of `held_out_dataset`; returns the metric means.

  Args:
    model: the model whose metrics `eval_fn` updates.
    eval_fn: `make_loop_fn(strategy, model.test_step)`.
    held_out_dataset: `tf.data.Dataset` of global batches.
    eval_steps: number of batches.
  """
  read_metrics(model)
  eval_fn(iter(held_out_dataset), tf.constant(eval_steps, tf.int32))
  return read_metrics(model)


def _loop_end(step, epoch_end, steps_per_loop, before_step):
  """The step at which the host loop starting at `step` hands back control."""
  end = min(epoch_end, step + steps_per_loop)
  if before_step is not None:
    for later in range(step + 1, end):
      if before_step.is_due(later):
        return later
  return end


class RefusedSteps:
  """The host's view of one guard's refused steps: counts them, logs them, raises at the limit.

  Attributes:
    in_a_row: steps refused in a row so far (pass it to the next compiled loop).
    count: the guard's count of refused steps at the last look.
  """

  def __init__(self, guard, on_nonfinite, limit, streak=None, phase='model'):
    """Reads the guard's count and the streak (nothing is written).

    Args:
      guard: the `NonfiniteGuard` of the steps.
      on_nonfinite: 'stop' or 'skip_step' (what a `DivergedError` says).
      limit: refused steps in a row that end the run (`consecutive_limit`), or None.
      streak: None, or an int64 variable of the steps refused in a row (checkpointed).
      phase: 'model' or 'spread': what the steps are, in the logs and the error.
    """
    self._guard = guard
    self._on_nonfinite = on_nonfinite
    self._limit = limit
    self._streak = streak
    self._phase = phase
    self.in_a_row = int(streak.numpy()) if streak is not None else 0
    self.count = guard.read()[0]

  def after_loop(self, in_a_row, step=None):
    """Notes a compiled loop's end; raises `DivergedError` at the limit.

    Args:
      in_a_row: what the loop returned (steps refused in a row at its end).
      step: for phase 'spread', the model step before which the phase ran.

    Raises:
      DivergedError: once `limit` steps in a row were refused.
    """
    self.in_a_row = int(in_a_row)
    if self._streak is not None:
      self._streak.assign(self.in_a_row)
    count, last_step, metric = self._guard.read()
    if count == self.count:
      return
    skipped_in_a_row = None if self._on_nonfinite == 'stop' else self.in_a_row
    if self._limit is not None and self.in_a_row >= self._limit:
      if self._phase == 'model':
        raise DivergedError(last_step, metric, skipped_in_a_row=skipped_in_a_row)
      raise DivergedError(step, metric, skipped_in_a_row=skipped_in_a_row, phase=self._phase,
                          spread_step=last_step)
    if self._phase == 'model':
      what, latest = 'step(s)', f'step {last_step}'
    else:
      what, latest = f'spread step(s) in the phase before step {step}', f'spread step {last_step}'
    logging.warning('skipped %d %s (latest: %s, %s); %d skipped so far, %d in a row.',
                    count - self.count, what, latest, _reason(metric, self._phase), count,
                    self.in_a_row)
    self.count = count


def train_loop(model, strategy, iterator, held_out_dataset, num_steps, steps_per_epoch, eval_steps,
               steps_per_loop=1, on_nonfinite='stop', before_step=None, on_epoch_end=None,
               on_loop_end=None, verbose=True, max_consecutive_skipped=None, skip_streak=None):
  """Trains `model` (already compiled, variables built) from its current step to `num_steps`.

  Args:
    model: a compiled model with `train_step`, `test_step`, `metrics` and `nonfinite_guard`
      (e.g. `SpreadVAE`); its `optimizer.iterations` is the step counter.
    strategy: the strategy whose scope built the model.
    iterator: iterator over a repeated `tf.data.Dataset` of global batches (save it in the
      checkpoint to resume the input exactly).
    held_out_dataset: `tf.data.Dataset` of global batches, or None to skip evaluation.
    num_steps: total steps of the run (a resumed run continues up to it).
    steps_per_epoch: steps between evaluations and `on_epoch_end` (summaries, checkpoints).
    eval_steps: held-out batches per evaluation.
    steps_per_loop: at most this many steps per compiled host loop.
    on_nonfinite: 'stop' (raise `DivergedError` at the first refused step: a NaN or Inf loss
      or gradient, or an exploding update) or 'skip_step' (train on; such steps are not
      applied, counted and logged, up to `max_consecutive_skipped` in a row).
    before_step: None, or an object with `is_due(step)` and `__call__(step, iterator)`, called
      before the model step `step` whenever it is due (e.g. a spread phase on a schedule); its
      time is not counted in `examples_per_second`.
    on_epoch_end: `fn(step, train_logs, held_out_logs)` called after every epoch; a true return
      value stops training (e.g. early stopping).
    on_loop_end: `fn(step)` called after every host loop (e.g. a preemption check); at an
      epoch end, after `on_epoch_end`, and not after the last one.
    verbose: show a `keras.utils.Progbar` per epoch. Metrics are read at the same points on
      every worker whatever `verbose` is (a cross-replica metric read is a collective).
    max_consecutive_skipped: under 'skip_step', the run diverges once this many steps in a row
      were skipped: an int, a float in (0, 1] (a fraction of an epoch), or None (never).
    skip_streak: None, or an int64 `tf.Variable` holding the steps skipped in a row so far
      (read at the start, updated after every host loop: checkpoint it to resume the count).

  Returns:
    Dict with the last `train` and `held_out` logs (a mean over no applied step is None),
    `steps` (the final step), `stopped` (True if `on_epoch_end` asked to stop), `skipped_steps`
    (steps not applied, over the whole run including earlier resumes), `examples_per_second`
    (steady state over the host loops and the host work between them, without evaluations,
    epoch callbacks, `before_step` hooks and the first host loop of the run, which traces) and
    `steps_timed`.

  Raises:
    DivergedError: under `on_nonfinite='stop'`, naming the first refused step and why; under
      'skip_step', once `max_consecutive_skipped` steps in a row were skipped.
    ValueError: for a bad `on_nonfinite` or `steps_per_loop`.
  """
  run_options.check_on_nonfinite(on_nonfinite)
  run_options.check_steps_per_loop(steps_per_loop)
  limit = consecutive_limit(on_nonfinite, max_consecutive_skipped, steps_per_epoch)
  refused = RefusedSteps(model.nonfinite_guard, on_nonfinite, limit, skip_streak)
  train_fn = make_loop_fn(strategy, model.train_step, guard=model.nonfinite_guard, limit=limit)
  eval_fn = make_loop_fn(strategy, model.test_step)
  global_batch = tf.nest.flatten(iterator.element_spec)[0].shape[0]  # None: no examples/s.
  step = int(model.optimizer.iterations.numpy())
  train_logs, held_out_logs = {}, {}
  timed_steps, timed_seconds, first, stopped = 0, 0., True, False
  while step < num_steps and not stopped:
    epoch_end = min(num_steps, (step // steps_per_epoch + 1) * steps_per_epoch)
    progbar = keras.utils.Progbar(epoch_end - step, verbose=1 if verbose else 0)
    epoch_start = step
    read_metrics(model)
    while step < epoch_end:
      if before_step is not None and before_step.is_due(step):
        before_step(step, iterator)
      end = _loop_end(step, epoch_end, steps_per_loop, before_step)
      start = time.perf_counter()
      in_a_row = train_fn(iterator, tf.constant(end - step, tf.int32),
                          tf.constant(refused.in_a_row, tf.int64))
      new_step = int(model.optimizer.iterations.numpy())
      ran, step = new_step - step, new_step
      refused.after_loop(in_a_row)
      if step < epoch_end:
        if on_loop_end is not None:
          on_loop_end(step)
        if verbose:
          progbar.update(step - epoch_start)  # No metric reads: collectives under multi-worker.
      if first:
        first = False
      else:  # Host work between compiled loops counts: it is what more steps per loop save.
        timed_steps += ran
        timed_seconds += time.perf_counter() - start
    train_logs = read_metrics(model)
    if verbose:
      progbar.update(epoch_end - epoch_start,
                     [(k, v) for k, v in train_logs.items() if v is not None], finalize=True)
    if held_out_dataset is not None and eval_steps:
      held_out_logs = evaluate(model, eval_fn, held_out_dataset, eval_steps)
    if on_epoch_end is not None:
      stopped = bool(on_epoch_end(step, train_logs, held_out_logs))
    if on_loop_end is not None and not stopped and step < num_steps:
      on_loop_end(step)  # After the epoch's evaluation and checkpoint, never in place of them.
  return {'train': train_logs, 'held_out': held_out_logs, 'steps': step, 'stopped': stopped,
          'skipped_steps': refused.count, 'steps_timed': timed_steps,
          'examples_per_second': (timed_steps * global_batch / timed_seconds
                                  if timed_seconds and global_batch else float('nan'))}
