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

Non-finite steps: `SpreadVAE.train_step` applies no update when its loss or a gradient is NaN
or Inf and counts the step in `model.nonfinite_guard` (`spreadtf.nonfinite_guard`). The loop
reads that counter once per host loop (a local read, no collective). With
`on_nonfinite='stop'` the compiled loop also breaks right after such a step, and the host raises
`DivergedError` naming it; with `'skip_step'` training goes on and the skipped steps are
logged.
"""

import time

from absl import logging
import keras
import tensorflow as tf

from spreadtf.training import run_options
from spreadtf.training import strategy as strategy_lib

__all__ = ['ON_NONFINITE', 'DivergedError', 'make_loop_fn', 'read_metrics', 'evaluate',
           'train_loop']

ON_NONFINITE = run_options.ON_NONFINITE


class DivergedError(FloatingPointError):
  """A training step had a NaN or Inf loss or gradient (under `on_nonfinite='stop'`).

  Attributes:
    step: the step (`optimizer.iterations` when it ran; its update was not applied).
    metric: 'loss' or 'gradient' (the loss was finite but a gradient was not).
  """

  def __init__(self, step, metric, advice=''):
    self.step = step
    self.metric = metric
    super().__init__(f'training diverged at step {step}: the {metric} is NaN or Inf; the '
                     f'update of that step was not applied.{" " + advice if advice else ""}')


def make_loop_fn(strategy, step_fn, guard=None):
  """Compiles `run(iterator, num_steps)`: up to `num_steps` calls of the per-replica `step_fn`.

  Args:
    strategy: the strategy whose scope built the model.
    step_fn: per-replica `fn(batch)`, e.g. `model.train_step`.
    guard: None, or a `NonfiniteGuard`: the loop breaks right after a step it counts.

  Returns:
    A `tf.function` taking a `tf.data` iterator of global batches and a scalar int32 tensor
    (pass a tensor: a Python int retraces for every value).
  """

  @tf.function
  def run(iterator, num_steps):
    start = guard.count.read_value() if guard is not None else None
    for _ in tf.range(num_steps):
      strategy.run(step_fn, args=(strategy_lib.split_batch(strategy, next(iterator)),))
      if guard is not None and guard.count > start:
        break

  return run


def read_metrics(model, reset=True):
  """Returns `{name: float}` of the model's metrics (cross-replica), optionally resetting them."""
  logs = {m.name: float(m.result()) for m in model.metrics}
  if reset:
    for m in model.metrics:
      m.reset_state()
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


def train_loop(model, strategy, iterator, held_out_dataset, num_steps, steps_per_epoch, eval_steps,
               steps_per_loop=1, on_nonfinite='stop', before_step=None, on_epoch_end=None,
               on_loop_end=None, verbose=True):
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
    on_nonfinite: 'stop' (raise `DivergedError` at the first step with a NaN or Inf loss or
      gradient) or 'skip_step' (train on; such steps are not applied, counted and logged).
    before_step: None, or an object with `is_due(step)` and `__call__(step, iterator)`, called
      before the model step `step` whenever it is due (e.g. a spread phase on a schedule); its
      time is not counted in `examples_per_second`.
    on_epoch_end: `fn(step, train_logs, held_out_logs)` called after every epoch; a true return
      value stops training (e.g. early stopping).
    on_loop_end: `fn(step)` called after every host loop (e.g. a preemption check); at an
      epoch end, after `on_epoch_end`, and not after the last one.
    verbose: show a `keras.utils.Progbar` per epoch. Metrics are read at the same points on
      every worker whatever `verbose` is (a cross-replica metric read is a collective).

  Returns:
    Dict with the last `train` and `held_out` logs, `steps` (the final step), `stopped` (True if
    `on_epoch_end` asked to stop), `skipped_steps` (non-finite steps not applied, over the
    whole run including earlier resumes), `examples_per_second` (steady state over the host
    loops and the host work between them, without evaluations, epoch callbacks, `before_step`
    hooks and the first host loop of the run, which traces) and `steps_timed`.

  Raises:
    DivergedError: under `on_nonfinite='stop'`, naming the first non-finite step and metric.
    ValueError: for a bad `on_nonfinite` or `steps_per_loop`.
  """
  run_options.check_on_nonfinite(on_nonfinite)
  run_options.check_steps_per_loop(steps_per_loop)
  guard = model.nonfinite_guard
  train_fn = make_loop_fn(strategy, model.train_step,
                          guard=guard if on_nonfinite == 'stop' else None)
  eval_fn = make_loop_fn(strategy, model.test_step)
  global_batch = tf.nest.flatten(iterator.element_spec)[0].shape[0]  # None: no examples/s.
  step = int(model.optimizer.iterations.numpy())
  skipped, _, _ = guard.read()
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
      train_fn(iterator, tf.constant(end - step, tf.int32))
      new_step = int(model.optimizer.iterations.numpy())
      ran, step = new_step - step, new_step
      count, last_step, metric = guard.read()
      if count > skipped:
        if on_nonfinite == 'stop':
          raise DivergedError(last_step, metric)
        logging.warning('skipped %d step(s) with a NaN or Inf loss or gradient (latest: step %d, '
                        '%s); %d skipped so far.', count - skipped, last_step, metric, count)
        skipped = count
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
      progbar.update(epoch_end - epoch_start, list(train_logs.items()), finalize=True)
    if held_out_dataset is not None and eval_steps:
      held_out_logs = evaluate(model, eval_fn, held_out_dataset, eval_steps)
    if on_epoch_end is not None:
      stopped = bool(on_epoch_end(step, train_logs, held_out_logs))
    if on_loop_end is not None and not stopped and step < num_steps:
      on_loop_end(step)  # After the epoch's evaluation and checkpoint, never in place of them.
  return {'train': train_logs, 'held_out': held_out_logs, 'steps': step, 'stopped': stopped,
          'skipped_steps': skipped, 'steps_timed': timed_steps,
          'examples_per_second': (timed_steps * global_batch / timed_seconds
                                  if timed_seconds and global_batch else float('nan'))}
