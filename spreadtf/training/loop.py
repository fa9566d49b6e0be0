"""The one training loop: `strategy.run(model.train_step)` over a distributed dataset.

The same loop serves every strategy (Keras' `model.fit` fails under MultiWorkerMirroredStrategy,
keras-team/keras#20585). It runs whole epochs of `steps_per_epoch` steps, evaluates
`eval_steps` held-out batches after each, and hands both metric dicts to a callback that does
the I/O (summaries, checkpoints); nothing inside the compiled step has side effects.
"""

import time

import keras
import tensorflow as tf

__all__ = ['make_step_fn', 'read_metrics', 'evaluate', 'train_loop']


def make_step_fn(strategy, step_fn):
  """Wraps a per-replica `step_fn(batch)` as a `tf.function` taking a distributed iterator."""

  @tf.function
  def run(iterator):
    strategy.run(step_fn, args=(next(iterator),))

  return run


def read_metrics(model, reset=True):
  """Returns `{name: float}` of the model's metrics (cross-replica), optionally resetting them."""
  logs = {m.name: float(m.result()) for m in model.metrics}
  if reset:
    for m in model.metrics:
      m.reset_state()
  return logs


def evaluate(model, test_step, distributed_test, eval_steps):
  """Runs `eval_steps` test batches from the start of the test set; returns the metric means."""
  read_metrics(model)
  iterator = iter(distributed_test)
  for _ in range(eval_steps):
    test_step(iterator)
  return read_metrics(model)


def train_loop(model, strategy, train_dataset, test_dataset, num_steps, steps_per_epoch,
               eval_steps, on_epoch_end=None, before_step=None, verbose=True):
  """Trains `model` (already compiled, variables built) from its current step to `num_steps`.

  Args:
    model: a compiled model with `train_step`, `test_step` and `metrics`
      (e.g. `SpreadVAE`); its `optimizer.iterations` is the step counter.
    strategy: the strategy whose scope built the model.
    train_dataset: `tf.data.Dataset` of global batches, repeated.
    test_dataset: `tf.data.Dataset` of global batches, or None to skip evaluation.
    num_steps: total steps of the run (a resumed run continues up to it).
    steps_per_epoch: steps between evaluations, summaries and checkpoints.
    eval_steps: held-out batches per evaluation.
    on_epoch_end: `fn(step, train_logs, test_logs)` called after every epoch.
    before_step: `fn(step, iterator)` called before every model step with the step about to
      run and the distributed training iterator (e.g. to run a spread phase on a schedule); its
      time is not counted in `examples_per_second`.
    verbose: show a `keras.utils.Progbar` per epoch. Metrics are read at the same points on
      every worker whatever `verbose` is (a cross-replica metric read is a collective).

  Returns:
    Dict with the last `train` and `test` logs, `steps` (the final step), `examples_per_second`
    (steady state: the first step of the run, which traces, is not timed) and `steps_timed`.
  """
  train_step = make_step_fn(strategy, model.train_step)
  test_step = make_step_fn(strategy, model.test_step)
  iterator = iter(strategy.experimental_distribute_dataset(train_dataset))
  distributed_test = (strategy.experimental_distribute_dataset(test_dataset)
                      if test_dataset is not None else None)
  global_batch = int(train_dataset.element_spec.shape[0])
  step = int(model.optimizer.iterations.numpy())
  train_logs, test_logs = {}, {}
  timed_steps, timed_seconds, first = 0, 0., True
  while step < num_steps:
    epoch_end = min(num_steps, (step // steps_per_epoch + 1) * steps_per_epoch)
    progbar = keras.utils.Progbar(epoch_end - step, verbose=1 if verbose else 0)
    read_metrics(model)
    for i in range(epoch_end - step):
      if before_step is not None:
        before_step(step + i, iterator)
      start = time.perf_counter()
      train_step(iterator)
      if first:
        first = False
      else:
        timed_steps += 1
        timed_seconds += time.perf_counter() - start
      if verbose and i + 1 < epoch_end - step:
        progbar.update(i + 1)  # No metric reads here: they are collectives under multi-worker.
    train_logs = read_metrics(model)
    if verbose:
      progbar.update(epoch_end - step, list(train_logs.items()), finalize=True)
    step = epoch_end
    if distributed_test is not None and eval_steps:
      test_logs = evaluate(model, test_step, distributed_test, eval_steps)
    if on_epoch_end is not None:
      on_epoch_end(step, train_logs, test_logs)
  return {'train': train_logs, 'test': test_logs, 'steps': step, 'steps_timed': timed_steps,
          'examples_per_second': (timed_steps * global_batch / timed_seconds
                                  if timed_seconds else float('nan'))}
