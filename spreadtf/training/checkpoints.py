"""Checkpoint I/O of a run: what is saved, resuming from a workdir, and starting from another run.

A run's `tf.train.Checkpoint` holds the model (networks, BatchNorm statistics, the count of
non-finite steps), its optimizer, the spread kernel, the spread optimizer of a learned spread,
and the step; the training root adds the run's progress (best test ELBO, stall count, training
seconds) and the position of its input (the `tf.data` iterator). Errors name the path and never
delete anything: an unreadable checkpoint is the user's to inspect.

Layout of `<workdir>/checkpoints/`: `ckpt-<step>` (the latest few, with the input position) and
`best/ckpt-<step>` (the one with the best test ELBO so far, without the input position).
"""

import os

import tensorflow as tf

from spreadtf import _compat

__all__ = ['BEST', 'make_checkpoint', 'input_checkpoint_problem', 'restore_latest',
           'restore_networks']

BEST = 'best'  # Subdirectory of the checkpoint directory holding the best checkpoint.


def make_checkpoint(model, optimizer, **extra):
  """`tf.train.Checkpoint` of the model, optimizer, spread kernel, spread optimizer and step.

  Args:
    model: a built `SpreadVAE`.
    optimizer: its optimizer (`optimizer.iterations` is saved as `step`).
    **extra: more trackables to save, e.g. `progress=` and `data=` (a `tf.data` iterator).
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


def _checkpoint_prefix(path):
  """The checkpoint prefix `path` names: a prefix, a checkpoint directory, or a run's workdir."""
  if tf.io.gfile.isdir(path):
    for directory in (path, os.path.join(path, 'checkpoints')):
      latest = tf.train.latest_checkpoint(directory)
      if latest:
        return latest
    raise FileNotFoundError(f'init_checkpoint {path!r} is a directory without checkpoints '
                            '(looked in it and in its checkpoints/ subdirectory).')
  if not tf.io.gfile.exists(path + '.index'):
    raise FileNotFoundError(f'init_checkpoint {path!r} is neither a directory nor a checkpoint '
                            f'prefix ({path + ".index"!r} does not exist).')
  return path


def restore_networks(model, path):
  """Initialises `model.encoder` and `model.decoder` from another run's checkpoint.

  Only the networks are read (weights and BatchNorm statistics): the other run's optimizer,
  step and spread are ignored, so a fixed-spread run can start a learned-spread one.

  Args:
    model: a built `SpreadVAE`.
    path: a checkpoint prefix (`.../checkpoints/ckpt-200`), a checkpoint directory, or the
      workdir of a run (its latest checkpoint is used).

  Returns:
    The checkpoint prefix read.

  Raises:
    FileNotFoundError: if `path` holds no checkpoint.
    RuntimeError: naming the path, if the checkpoint does not hold matching networks.
  """
  prefix = _checkpoint_prefix(path)
  networks = tf.train.Checkpoint(
      model=tf.train.Checkpoint(encoder=model.encoder, decoder=model.decoder))
  try:
    networks.restore(prefix).assert_existing_objects_matched()
  except Exception as e:  # pylint: disable=broad-except
    raise RuntimeError(f'cannot initialise the encoder and decoder from {prefix!r} (not a '
                       f'SpreadVAE checkpoint with the same networks?): {type(e).__name__}: '
                       f'{e}') from e
  return prefix
