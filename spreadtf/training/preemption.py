"""SIGTERM handling: save a checkpoint at the current step, then stop the run cleanly.

SLURM, Kubernetes and preemptible cloud VMs send SIGTERM some seconds before they kill a job.
`make_handler` returns an object whose `check(step)` the training loop calls after every host
loop; once a termination notice has arrived, `check` saves a checkpoint through the run's
`save_fn(step)` and raises `Preempted`, which the training root turns into a
`"status": "preempted"` run that the next invocation resumes.

Where it supports the strategy and platform, this is TensorFlow's own
`tf.distribute.experimental.PreemptionCheckpointHandler`: under MultiWorkerMirroredStrategy it
makes every worker agree (through the coordination service) on the step at which all of them
save, and it reads GCE maintenance notices on GPU VMs. It saves one host loop after the notice
(the step all workers can still reach). TensorFlow's handler does nothing for TPUStrategy
outside Google and on GCE CPU or TPU VMs; there `SignalHandler` has the same behaviour: a
SIGTERM flag, agreed across workers by a one-number all-reduce at each check, then save and stop.
"""

import signal
import threading

from absl import logging
import tensorflow as tf

from spreadtf import _compat

__all__ = ['Preempted', 'SignalHandler', 'TensorFlowHandler', 'make_handler']


class Preempted(Exception):
  """The run saved a checkpoint at `step` after a termination notice and stopped."""

  def __init__(self, step):
    self.step = step
    super().__init__(f'preempted: saved a checkpoint at step {step} and stopped; run the same '
                     'command again to continue.')


class _Handler:
  """Saves through `save_fn`, remembers the step, restores the previous SIGTERM handler."""

  def __init__(self, save_fn):
    self._save_fn = save_fn
    self._step = None
    self._previous = signal.getsignal(signal.SIGTERM)

  def _save(self, step):
    self._step = step
    logging.warning('termination notice: saving a checkpoint at step %d and stopping.', step)
    self._save_fn(step)

  def close(self):
    """Restores the SIGTERM handler that was installed before this one."""
    signal.signal(signal.SIGTERM, self._previous)


class SignalHandler(_Handler):
  """SIGTERM sets a flag; `check` saves and raises `Preempted` once any worker has it set."""

  def __init__(self, strategy, save_fn):
    """Installs the SIGTERM handler (call from the main thread).

    Args:
      strategy: the run's strategy (under several workers the flag is agreed by all-reduce).
      save_fn: `fn(step)` saving a checkpoint of the run at `step`.
    """
    super().__init__(save_fn)
    self._strategy = strategy
    self._received = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: self._received.set())

  def _agreed(self):
    """True if any worker received SIGTERM (every worker must call this at the same points)."""
    resolver = getattr(self._strategy, 'cluster_resolver', None)
    if resolver is None or not resolver.cluster_spec().as_dict():
      return self._received.is_set()
    flag = float(self._received.is_set())
    value = self._strategy.experimental_distribute_values_from_function(
        lambda _: tf.constant(flag))
    return float(self._strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)) > 0.

  def check(self, step):
    """Saves at `step` and raises `Preempted` if a termination notice has arrived."""
    if self._agreed():
      self._save(step)
      raise Preempted(step)


class TensorFlowHandler(_Handler):
  """`tf.distribute.experimental.PreemptionCheckpointHandler` with a `check(step)` method."""

  def __init__(self, strategy, manager, save_fn):
    """Creates TensorFlow's handler (call from the main thread, after restoring the run).

    Args:
      strategy: the run's strategy.
      manager: a `tf.train.CheckpointManager` of the run's checkpoint in the directory every
        worker restores from; the handler restores its latest checkpoint again (the same one)
        but saves only through `save_fn`.
      save_fn: `fn(step)` saving a checkpoint of the run at `step`.
    """
    super().__init__(save_fn)
    config = tf.distribute.experimental.TerminationConfig(
        exit_fn=self._exit, save_fn=lambda checkpoint_number: self._save(checkpoint_number))
    self._handler = tf.distribute.experimental.PreemptionCheckpointHandler(
        getattr(strategy, 'cluster_resolver', None), manager, termination_config=config)

  def _exit(self):
    raise Preempted(self._step)

  def check(self, step):
    """Saves at `step` and raises `Preempted` if the cluster agreed to save at this call."""
    self._handler.save_checkpoint_if_preempted(checkpoint_number=step)

  def close(self):
    """Restores the previous SIGTERM handler and stops the handler's watcher threads."""
    super().close()
    self._handler = None  # Its __del__ stops the threads it runs under multi-worker training.


class _NoHandler:
  """Used off the main thread, where Python cannot install signal handlers."""

  def check(self, step):
    del step

  def close(self):
    pass


def _tensorflow_handler_works(strategy):
  """False where TensorFlow's handler is a no-op: TPUStrategy, GCE CPU and TPU VMs."""
  if isinstance(strategy, tf.distribute.TPUStrategy):
    return False
  return _compat.platform_has_preemption_notices()


def make_handler(strategy, manager, save_fn, use_tensorflow=None):
  """The preemption handler of a run (see the module docstring).

  Args:
    strategy: the run's strategy.
    manager: `tf.train.CheckpointManager` of the directory every worker restores from.
    save_fn: `fn(step)` saving a checkpoint of the run at `step`.
    use_tensorflow: force TensorFlow's handler (True) or `SignalHandler` (False); None picks
      TensorFlow's wherever it works.

  Returns:
    An object with `check(step)` and `close()`.
  """
  if threading.current_thread() is not threading.main_thread():
    logging.warning('not in the main thread: SIGTERM will not save a checkpoint.')
    return _NoHandler()
  if use_tensorflow is None:
    use_tensorflow = _tensorflow_handler_works(strategy)
  if use_tensorflow:
    return TensorFlowHandler(strategy, manager, save_fn)
  return SignalHandler(strategy, save_fn)
