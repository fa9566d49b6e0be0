"""Checkpoint I/O of a run: what is saved, where in the checkpoint directory, and reading it back.

This is the one module that knows what a run's checkpoints hold and how they are named. A run's
`tf.train.Checkpoint` holds the model (networks, BatchNorm statistics, the count of non-finite
steps) as `model`, its optimizer, the spread kernel as `spread`, the spread optimizer of a
learned spread, and the step as `step`; the training root adds the run's progress (best held-out
ELBO, stall count, training seconds) and the position of its input (the `tf.data` iterator).
Errors name the path and never delete anything: an unreadable checkpoint is the user's to
inspect.

Inside a run's checkpoint directory (`WorkdirLayout.checkpoints`): `ckpt-<step>` (the latest
few, with the input position), `best/ckpt-<step>` (the one with the best held-out ELBO so far,
without the input position) and TensorFlow's `checkpoint` state files.
"""

import os

import tensorflow as tf

from spreadtf import _compat

__all__ = ['BEST', 'WHICH', 'RunCheckpoints', 'best_directory', 'make_checkpoint',
           'input_checkpoint_problem', 'restore_latest', 'find_checkpoint', 'checkpoint_step',
           'restore_model', 'restore_networks', 'checkpoint_prefix']

BEST = 'best'  # Subdirectory of the checkpoint directory holding the best checkpoint.
WHICH = ('best', 'latest')  # The checkpoints of a run `find_checkpoint` can name.
_PREFIX = 'ckpt'  # tf.train.CheckpointManager's default prefix: `ckpt-<step>`.
_STEP = 'step/.ATTRIBUTES/VARIABLE_VALUE'  # The step's key in a checkpoint.


def best_directory(checkpoint_dir):
  """The directory of the best checkpoint inside a run's checkpoint directory."""
  return os.path.join(checkpoint_dir, BEST)


def make_checkpoint(model, optimizer, **extra):
  """`tf.train.Checkpoint` of the model, optimizer, spread kernel, spread optimizer and step.

  Args:
    model: a built `SpreadVAE`.
    optimizer: its optimizer (`optimizer.iterations` is saved as `step`).
    **extra: more trackables to save, e.g. `progress=` and `data=` (a `tf.data` iterator).

  Returns:
    The `tf.train.Checkpoint`.
  """
  spread_optimizer = getattr(model, 'spread_optimizer', None)
  if spread_optimizer is not None:
    extra['spread_optimizer'] = spread_optimizer
  return tf.train.Checkpoint(model=model, optimizer=optimizer, spread=model.spread,
                             step=optimizer.iterations, **extra)


def input_checkpoint_problem(dataset):
  """Why an iterator over `dataset` cannot be saved in a checkpoint, or None if it can.

  A pipeline with state outside TensorFlow (`tf.py_function`, `from_generator`, as in
  `tfds.testing.mock_data`) cannot be saved; TensorFlow only says so at the first save, so the
  root asks before it trains.

  Args:
    dataset: a `tf.data.Dataset`.

  Returns:
    None, or TensorFlow's one-line reason (e.g. naming the stateful op).
  """
  return _compat.iterator_save_problem(dataset)


def restore_latest(checkpoint, manager):
  """Restores the latest checkpoint of `manager`, if any.

  Returns:
    The restored checkpoint path, or None when the directory holds none.

  Raises:
    RuntimeError: naming the path, when a checkpoint exists but cannot be read. Nothing is
      deleted.
  """
  directory = manager.directory
  path = manager.latest_checkpoint
  if path is None:
    found = tf.io.gfile.glob(os.path.join(directory, '*.index'))
    if found:  # TF ignores an unreadable state file; starting over would hide the old run.
      raise RuntimeError(
          f'{directory!r} holds checkpoints ({", ".join(sorted(found))}) but its state file '
          f'{os.path.join(directory, "checkpoint")!r} is missing or unreadable. Nothing was '
          'deleted; repair or move it, or use a new workdir.')
    return None
  try:
    checkpoint.restore(path).assert_existing_objects_matched()
  # Any failure to read it (a truncated data file raises IndexError) is the same user problem.
  except Exception as e:  # pylint: disable=broad-except
    raise RuntimeError(f'cannot restore checkpoint {path!r} (corrupt or from another model): '
                       f'{type(e).__name__}: {e}. Nothing was deleted; move it aside or use a '
                       'new workdir.') from e
  return path


class RunCheckpoints:
  """The checkpoints a training run writes: the latest few (with the input) and the best one.

  Under multi-worker training every worker saves into its own `directory` (the collectives need
  all of them) but restores from the chief's (`restore_directory`), so that all start at the
  same step and input position.

  Attributes:
    restore_manager: the `tf.train.CheckpointManager` of the directory the run restores from
      (TensorFlow's preemption handler needs it).
  """

  def __init__(self, model, progress, directory, restore_directory, max_to_keep,
               iterator=None):
    """Creates the checkpoint objects; nothing is read or written.

    Args:
      model: a built, compiled `SpreadVAE` (its optimizer is saved).
      progress: the run's `RunProgress`.
      directory: the checkpoint directory this process writes.
      restore_directory: the checkpoint directory it resumes from (the chief's).
      max_to_keep: how many of the latest checkpoints to keep.
      iterator: None, or the `tf.data` iterator of training batches, saved in the latest
        checkpoints (not in the best one) so a resumed run continues its input.
    """
    data = {'data': iterator} if iterator is not None else {}
    self._checkpoint = make_checkpoint(model, model.optimizer, progress=progress, **data)
    self._directory = directory
    self._manager = tf.train.CheckpointManager(self._checkpoint, directory,
                                               max_to_keep=max_to_keep)
    self.restore_manager = self._manager if restore_directory == directory else (
        tf.train.CheckpointManager(self._checkpoint, restore_directory, max_to_keep=max_to_keep))
    self._best = tf.train.CheckpointManager(
        make_checkpoint(model, model.optimizer, progress=progress), best_directory(directory),
        max_to_keep=1)

  @property
  def latest_checkpoint(self):
    """The prefix of the newest checkpoint this process wrote (or found), or None."""
    return self._manager.latest_checkpoint

  @property
  def best_checkpoint(self):
    """The prefix of the best checkpoint this process wrote (or found), or None."""
    return self._best.latest_checkpoint

  def restore(self):
    """Restores the latest checkpoint of the restore directory (see `restore_latest`)."""
    return restore_latest(self._checkpoint, self.restore_manager)

  def save(self, step):
    """Saves the run at `step` unless the latest checkpoint already is of `step`."""
    if self._manager.latest_checkpoint != os.path.join(self._directory, f'{_PREFIX}-{step}'):
      self._manager.save(checkpoint_number=step)

  def save_best(self, step):
    """Saves the run at `step` as the best checkpoint (replacing the previous best)."""
    self._best.save(checkpoint_number=step)


def find_checkpoint(checkpoint_dir, which):
  """The prefix of a run's latest or best checkpoint, or None if it has none.

  Args:
    checkpoint_dir: a run's checkpoint directory.
    which: 'latest', or 'best' (the best held-out ELBO's; None when the run kept none).

  Raises:
    ValueError: for another `which`.
  """
  if which not in WHICH:
    raise ValueError(f'which checkpoint must be one of {WHICH}, got {which!r}.')
  directory = best_directory(checkpoint_dir) if which == BEST else checkpoint_dir
  return tf.train.latest_checkpoint(directory) if tf.io.gfile.isdir(directory) else None


def checkpoint_step(prefix):
  """The training step saved in the checkpoint `prefix`, as a Python int."""
  return int(tf.train.load_variable(prefix, _STEP))


def restore_model(model, prefix, what='the model'):
  """Restores the model and its spread (not the optimizers or the input) from `prefix`.

  Args:
    model: a built `SpreadVAE` of the run's configuration.
    prefix: a checkpoint prefix of a run.
    what: the model's description for the error, e.g. naming the config it was built from.

  Raises:
    RuntimeError: naming `prefix` and `what` when the checkpoint cannot be read or does not hold
      this model.
  """
  try:
    status = tf.train.Checkpoint(model=model, spread=model.spread).restore(prefix)
    status.expect_partial().assert_existing_objects_matched()
  except Exception as e:  # pylint: disable=broad-except  (any unreadable checkpoint)
    raise RuntimeError(f'cannot restore {prefix!r} into {what}: {type(e).__name__}: {e}') from e


def checkpoint_prefix(path, checkpoint_dirs, what):
  """The checkpoint prefix `path` names: a prefix, or the latest in one of `checkpoint_dirs`.

  Args:
    path: what the user passed.
    checkpoint_dirs: directories to look in, in order, when `path` is a directory (e.g. itself
      and, for a run's workdir, its checkpoint directory).
    what: the option's name for errors, e.g. 'init_checkpoint'.

  Raises:
    FileNotFoundError: naming `path` when it is neither a prefix nor holds a checkpoint.
  """
  if tf.io.gfile.isdir(path):
    for directory in checkpoint_dirs:
      latest = tf.train.latest_checkpoint(directory)
      if latest:
        return latest
    looked = ', '.join(repr(d) for d in checkpoint_dirs)
    raise FileNotFoundError(f'{what} {path!r} is a directory without checkpoints (looked in '
                            f'{looked}).')
  if not tf.io.gfile.exists(path + '.index'):
    raise FileNotFoundError(f'{what} {path!r} is neither a directory nor a checkpoint prefix '
                            f'({path + ".index"!r} does not exist).')
  return path


def restore_networks(model, prefix):
  """Initialises `model.encoder` and `model.decoder` from another run's checkpoint `prefix`.

  Only the networks are read (weights and BatchNorm statistics): the other run's optimizer,
  step and spread are ignored, so a fixed-spread run can start a learned-spread one.

  Args:
    model: a built `SpreadVAE`.
    prefix: a checkpoint prefix (`.../checkpoints/ckpt-200`; `checkpoint_prefix` finds it from
      a directory or workdir).

  Returns:
    `prefix`.

  Raises:
    RuntimeError: naming the path, if the checkpoint does not hold matching networks.
  """
  networks = tf.train.Checkpoint(
      model=tf.train.Checkpoint(encoder=model.encoder, decoder=model.decoder))
  try:
    networks.restore(prefix).assert_existing_objects_matched()
  except Exception as e:  # pylint: disable=broad-except
    raise RuntimeError(f'cannot initialise the encoder and decoder from {prefix!r} (not a '
                       f'SpreadVAE checkpoint with the same networks?): {type(e).__name__}: '
                       f'{e}') from e
  return prefix
