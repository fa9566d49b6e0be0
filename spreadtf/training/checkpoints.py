"""Checkpoint I/O of a run: what is saved, where, how it is checked, and reading it back.

This is the one module that knows what a run's checkpoints hold and how they are named. A run's
`tf.train.Checkpoint` holds the model (networks, BatchNorm statistics, the count of refused
steps) as `model`, its optimizer, the spread kernel as `spread`, the spread optimizer of a
learned spread, and the step as `step`; the training root adds the run's progress (best held-out
ELBO, stall count, training seconds) and the position of its input (the `tf.data` iterator),
and, since issue 18, the fingerprint of the data it reads (`data_fingerprint`, JSON text) and
the count of steps skipped in a row (`skip_streak`); a learned-spread run adds the guard of its
spread steps (`spread_guard`: refused spread steps, the latest and why) and the count of spread
steps skipped in a row (`spread_skip_streak`). These are read leniently: a checkpoint written
before they existed restores without them (the counts start at 0).

Inside a run's checkpoint directory (`WorkdirLayout.checkpoints`): `ckpt-<step>` (the latest
few, with the input position), `best/ckpt-<step>` (the one with the best held-out ELBO so far,
without the input position), TensorFlow's `checkpoint` state files, and `unreadable/<time>/`
(checkpoints a run found unreadable and moved aside, never deleted).

What a run does with the directory when it starts (`survey`, read-only, then
`RunCheckpoints.tidy`, its first write):

  * **Which checkpoint it resumes from**: the newest one that `verify` can read, among those the
    state file names and those on disk (`ckpt-<step>.index`: a save killed after its files were
    complete but before the state file was updated left a whole checkpoint the state file does
    not know). Newer ones it cannot read are named in a warning, moved to `unreadable/` and
    kept; if none can be read, the run is refused (starting over would hide the old run).
  * **Debris of an interrupted save** is removed: TensorFlow's staging directories
    `ckpt-<step>_temp*/`, its staging files of the state file `checkpoint.tmp<hex>`, and data
    files `ckpt-<step>.data-*` whose index is gone (a deletion or a save cut short).
  * The state file is rewritten when it does not name the checkpoint resumed from as the latest.

A save that fails (a full disk, a file-size limit) raises `CheckpointWriteError` naming the
checkpoint and the previous one, which is left as it was, as are the state file and everything
else the run wrote.
"""

import dataclasses
import json
import os
import re
import time

from absl import logging
import tensorflow as tf

from spreadtf import _compat

__all__ = ['BEST', 'WHICH', 'UNREADABLE', 'CheckpointWriteError', 'CheckpointSurvey',
           'RunCheckpoints', 'best_directory', 'make_checkpoint', 'input_checkpoint_problem',
           'verify', 'survey', 'find_debris', 'read_data_fingerprint', 'restore_latest',
           'find_checkpoint', 'checkpoint_step', 'restore_model', 'restore_networks',
           'checkpoint_prefix']

BEST = 'best'  # Subdirectory of the checkpoint directory holding the best checkpoint.
WHICH = ('best', 'latest')  # The checkpoints of a run `find_checkpoint` can name.
UNREADABLE = 'unreadable'  # Subdirectory where unreadable checkpoints are moved aside.
_PREFIX = 'ckpt'  # tf.train.CheckpointManager's default prefix: `ckpt-<step>`.
_STEP = 'step/.ATTRIBUTES/VARIABLE_VALUE'  # The step's key in a checkpoint.
_FINGERPRINT = 'data_fingerprint'  # The data fingerprint's name in a checkpoint.
_FINGERPRINT_KEY = f'{_FINGERPRINT}/.ATTRIBUTES/VARIABLE_VALUE'
_LENIENT = ('skip_streak', 'spread_skip_streak', 'spread_guard')  # Absent from older ones.
_NAME = re.compile(rf'^{_PREFIX}-(\d+)\.index$')
_DEBRIS = (re.compile(rf'^{_PREFIX}-\d+_temp'),  # TF's staging directory of a sharded save.
           re.compile(r'^checkpoint\.tmp[0-9a-f]+$'))  # TF's staging file of the state file.
_DATA = re.compile(rf'^({_PREFIX}-\d+)\.data-\d+-of-\d+$')


class CheckpointWriteError(OSError):
  """A checkpoint could not be written; the previous one and the run's files are unchanged."""


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


def verify(prefix):
  """Whether the checkpoint `prefix` can be read whole: None if so, else the reason.

  Reads the index and then every tensor, one at a time (memory: the largest tensor), with
  TensorFlow's own reader, which checks the CRC32C checksum of every index block and of every
  tensor's bytes. It detects: a missing, empty, truncated or garbled `.index` file; a missing or
  truncated `.data` file; any changed byte in the tensors (a bit flipped on disk or in transit).
  It cannot detect a checkpoint that is whole but holds bad values (one written from a diverged
  model: the non-finite guard keeps those from being written), nor one of another model (the
  restore's object matching refuses that).

  Args:
    prefix: a checkpoint prefix, e.g. `.../checkpoints/ckpt-200`.

  Returns:
    None, or `'<ErrorType>: <first line of the error>'`.
  """
  try:
    dtypes = tf.train.load_checkpoint(prefix).get_variable_to_dtype_map()
    for name, dtype in sorted(dtypes.items()):
      tf.raw_ops.RestoreV2(prefix=prefix, tensor_names=[name], shape_and_slices=[''],
                           dtypes=[dtype])
  # Any failure to read it (a truncated data file raises IndexError or OutOfRangeError).
  except Exception as e:  # pylint: disable=broad-except
    message = (e.message if isinstance(e, tf.errors.OpError) else str(e)).strip()
    return f'{type(e).__name__}: {message.splitlines()[0] if message else ""}'.strip()
  return None


def _step_of(prefix):
  match = _NAME.match(os.path.basename(prefix) + '.index')
  return int(match.group(1)) if match else None


def _listdir(directory):
  try:
    return tf.io.gfile.listdir(directory) if tf.io.gfile.isdir(directory) else []
  except tf.errors.OpError:
    return []


def _state_paths(directory):
  """`(latest, all)` prefixes the state file names, or `(None, [])`; never raises."""
  try:
    state = tf.train.get_checkpoint_state(directory)
  except (ValueError, tf.errors.OpError):
    state = None
  if state is None:
    return None, []
  return state.model_checkpoint_path, list(state.all_model_checkpoint_paths)


def find_debris(directory):
  """Paths in `directory` an interrupted save or deletion left behind (see module docstring)."""
  names = [name.rstrip('/') for name in _listdir(directory)]
  debris = [name for name in names if any(pattern.match(name) for pattern in _DEBRIS)]
  indexes = {name[:-len('.index')] for name in names if name.endswith('.index')}
  debris += [name for name in names
             if (match := _DATA.match(name)) and match.group(1) not in indexes]
  return sorted(os.path.join(directory, name) for name in debris)


@dataclasses.dataclass
class CheckpointSurvey:
  """What a run's checkpoint directory holds, read without writing anything.

  Attributes:
    directory: the directory surveyed.
    chosen: the prefix to resume from (the newest readable), or None when there is none.
    unreadable: `[(prefix, reason)]` of the newer checkpoints that cannot be read.
    kept: prefixes of the whole checkpoints up to `chosen`, oldest first.
    debris: paths of what interrupted saves left (`find_debris`).
    state_is_current: whether the state file names `chosen` as latest and lists `kept`.
  """
  directory: str
  chosen: str | None = None
  unreadable: list = dataclasses.field(default_factory=list)
  kept: list = dataclasses.field(default_factory=list)
  debris: list = dataclasses.field(default_factory=list)
  state_is_current: bool = True


def survey(directory):
  """Finds the checkpoint to resume from in `directory` (see the module docstring); reads only.

  Returns:
    A `CheckpointSurvey`.

  Raises:
    RuntimeError: naming every checkpoint and why, when checkpoints exist but none can be read.
      Nothing is changed.
  """
  latest, listed = _state_paths(directory)
  on_disk = [os.path.join(directory, name[:-len('.index')]) for name in _listdir(directory)
             if _NAME.match(name)]
  prefixes = {os.path.normpath(p) for p in listed + on_disk
              if _step_of(p) is not None and tf.io.gfile.exists(p + '.index')}
  result = CheckpointSurvey(directory=directory, debris=find_debris(directory))
  for prefix in sorted(prefixes, key=_step_of, reverse=True):
    reason = verify(prefix)
    if reason is None:
      result.chosen = prefix
      break
    result.unreadable.append((prefix, reason))
  if result.unreadable:
    found = '; '.join(f'{prefix!r} ({reason})' for prefix, reason in result.unreadable)
    if result.chosen is None:
      raise RuntimeError(
          f'no checkpoint in {directory!r} can be read: {found}. Nothing was changed or '
          'deleted; move them aside to start this run over, or use a new workdir.')
    logging.warning('cannot read %s; resuming from %r, the newest readable checkpoint. The '
                    'unreadable ones will be moved to %r (kept, not deleted).', found,
                    result.chosen, os.path.join(directory, UNREADABLE))
  if result.chosen is not None:
    result.kept = sorted((p for p in prefixes if _step_of(p) <= _step_of(result.chosen)),
                         key=_step_of)
    result.state_is_current = (
        latest is not None and os.path.normpath(latest) == result.chosen
        and sorted(map(os.path.normpath, listed), key=_step_of) == result.kept)
  return result


def read_data_fingerprint(prefix):
  """The data fingerprints (`{split: fingerprint}`) saved in `prefix`, or None if it has none."""
  reader = tf.train.load_checkpoint(prefix)
  if not reader.has_tensor(_FINGERPRINT_KEY):
    return None
  text = reader.get_tensor(_FINGERPRINT_KEY)
  return json.loads(text.decode('utf-8') if isinstance(text, bytes) else text) or None


def _restore(checkpoint, path):
  """Restores `checkpoint` from `path`, all of its objects matched; RuntimeError naming it."""
  try:
    # Entries this checkpoint object does not hold (e.g. the data fingerprint) are expected.
    checkpoint.restore(path).assert_existing_objects_matched().expect_partial()
  # Any failure to read it (a truncated data file raises IndexError) is the same user problem.
  except Exception as e:  # pylint: disable=broad-except
    raise RuntimeError(f'cannot restore checkpoint {path!r} (corrupt or from another model): '
                       f'{type(e).__name__}: {e}. Nothing was deleted; move it aside or use a '
                       'new workdir.') from e


def restore_latest(checkpoint, manager):
  """Restores the latest checkpoint of `manager` (its state file's), if any.

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
  _restore(checkpoint, path)
  return path


def _reason(error):
  """`'<ErrorType>: <message>'` without TensorFlow's `{{function_node ...}}` and `[Op:...]`."""
  message = error.message if isinstance(error, tf.errors.OpError) else str(error)
  message = re.sub(r'\{\{[^}]*\}\}|\[Op:[^\]]*\]', '', message).strip()
  return f'{type(error).__name__}: {message}'


def _remove(paths):
  """Deletes files and directories (debris), logging what; failures are logged, not raised."""
  for path in paths:
    try:
      if tf.io.gfile.isdir(path):
        tf.io.gfile.rmtree(path)
      else:
        tf.io.gfile.remove(path)
    except tf.errors.OpError as e:
      logging.warning('could not remove %s: %s', path, e.message)
  if paths:
    logging.info('removed what interrupted checkpoint saves left: %s', ', '.join(paths))


def _move_aside(prefixes, directory):
  """Moves the files of `prefixes` to `<directory>/unreadable/<time>/`; returns that folder."""
  target = os.path.join(directory, UNREADABLE, time.strftime('%Y%m%d-%H%M%S'))
  tf.io.gfile.makedirs(target)
  for prefix in prefixes:
    for path in tf.io.gfile.glob(prefix + '.*'):
      tf.io.gfile.rename(path, os.path.join(target, os.path.basename(path)))
  logging.warning('moved the unreadable checkpoint(s) %s to %s (kept for you to inspect or '
                  'delete).', ', '.join(prefixes), target)
  return target


class RunCheckpoints:
  """The checkpoints a training run writes: the latest few (with the input) and the best one.

  Under multi-worker training every worker saves into its own `directory` (the collectives need
  all of them) but restores from the chief's (`survey` of the restore directory), so that all
  start at the same step and input position. Nothing is read or written until `restore`
  (reads) and `tidy` (the run's first write in the checkpoint directory, after every check).
  """

  def __init__(self, model, progress, directory, found, max_to_keep, iterator=None,
               data_fingerprint=None, skip_streak=None, spread_skip_streak=None):
    """Creates the checkpoint objects; nothing is read or written.

    Args:
      model: a built, compiled `SpreadVAE` (its optimizer is saved).
      progress: the run's `RunProgress`.
      directory: the checkpoint directory this process writes.
      found: the `CheckpointSurvey` of the directory the run resumes from (the chief's).
      max_to_keep: how many of the latest checkpoints to keep.
      iterator: None, or the `tf.data` iterator of training batches, saved in the latest
        checkpoints (not in the best one) so a resumed run continues its input.
      data_fingerprint: None, or `{split: fingerprint}` of the data the run reads, saved in
        the latest checkpoints (`read_data_fingerprint`).
      skip_streak: None, or an int64 variable (steps skipped in a row), saved likewise.
      spread_skip_streak: None, or an int64 variable (spread steps skipped in a row), saved
        likewise when the model learns its spread (has a spread optimizer), with the model's
        `spread_guard`.
    """
    self._model, self._progress = model, progress
    self._directory, self._found, self._max_to_keep = directory, found, max_to_keep
    self._iterator = iterator
    self._extra = {}
    if data_fingerprint is not None:
      self._extra[_FINGERPRINT] = tf.Variable(json.dumps(data_fingerprint, sort_keys=True),
                                              dtype=tf.string, trainable=False)
    if skip_streak is not None:
      self._extra['skip_streak'] = skip_streak
    if getattr(model, 'spread_optimizer', None) is not None:
      self._extra['spread_guard'] = model.spread_guard
      if spread_skip_streak is not None:
        self._extra['spread_skip_streak'] = spread_skip_streak
    data = {'data': iterator} if iterator is not None else {}
    self._checkpoint = make_checkpoint(model, model.optimizer, progress=progress, **data,
                                       **self._extra)
    self._manager = self._best = None

  @property
  def resume_from(self):
    """The prefix the run resumes from (the newest readable checkpoint), or None."""
    return self._found.chosen

  @property
  def latest_checkpoint(self):
    """The prefix of the newest checkpoint this process wrote (or resumed from), or None."""
    return self._manager.latest_checkpoint if self._manager else self._found.chosen

  @property
  def best_checkpoint(self):
    """The prefix of the best checkpoint this process wrote (or found), or None."""
    if self._best is None:
      return tf.train.latest_checkpoint(best_directory(self._directory))
    return self._best.latest_checkpoint

  def restore(self, with_input=True):
    """Restores the model, optimizers, progress (and input) from `resume_from`; reads only.

    Args:
      with_input: also restore the input iterator (False: the run reads a fresh pipeline).

    Returns:
      The prefix restored, or None when there is no checkpoint.

    Raises:
      RuntimeError: naming the checkpoint when it does not hold this run's objects.
    """
    prefix = self._found.chosen
    if prefix is None:
      return None
    data = {'data': self._iterator} if with_input and self._iterator is not None else {}
    _restore(make_checkpoint(self._model, self._model.optimizer, progress=self._progress,
                             **data), prefix)
    lenient = {name: self._extra[name] for name in _LENIENT if name in self._extra}
    if lenient:  # Absent from checkpoints older than them: left at 0.
      tf.train.Checkpoint(**lenient).restore(prefix).expect_partial()
    return prefix

  def restore_input(self, iterator):
    """Restores `iterator` (another iterator of the same pipeline) to the saved position."""
    tf.train.Checkpoint(data=iterator).restore(self._found.chosen).expect_partial()

  def tidy(self, chief=True):
    """The run's first write here: debris removed, unreadable checkpoints moved aside, state.

    Args:
      chief: whether this process owns the directory it resumed from (non-chief workers only
        clear the debris of their own directory).
    """
    found = self._found
    _remove(find_debris(self._directory) + find_debris(best_directory(self._directory)))
    if chief and found.unreadable:
      _move_aside([prefix for prefix, _ in found.unreadable], found.directory)
    if chief and found.chosen is not None and not found.state_is_current:
      _compat.write_checkpoint_state(found.directory, found.chosen, found.kept)
      logging.info('rewrote the checkpoint state file of %s: latest %s', found.directory,
                   found.chosen)
    self._manager = tf.train.CheckpointManager(self._checkpoint, self._directory,
                                               max_to_keep=self._max_to_keep)
    self._best = tf.train.CheckpointManager(
        make_checkpoint(self._model, self._model.optimizer, progress=self._progress),
        best_directory(self._directory), max_to_keep=1)

  def preemption_manager(self):
    """A `tf.train.CheckpointManager` of nothing, for TensorFlow's preemption handler.

    The handler restores its manager's latest checkpoint when it is created; the run has
    restored already (and may have chosen another checkpoint than a state file names), so its
    manager has none to restore: a manager of an empty checkpoint in a directory that is never
    created. The handler saves only through the run's own save function.
    """
    return tf.train.CheckpointManager(tf.train.Checkpoint(),
                                      os.path.join(self._directory, '.preemption-unused'),
                                      max_to_keep=1)

  def _write(self, manager, step):
    """`manager.save(checkpoint_number=step)`; `CheckpointWriteError` if it cannot be written."""
    try:
      manager.save(checkpoint_number=step)
    except (tf.errors.OpError, OSError) as e:
      _remove(find_debris(manager.directory))
      prefix = os.path.join(manager.directory, f'{_PREFIX}-{step}')
      raise CheckpointWriteError(
          f'cannot write checkpoint {prefix!r}: {_reason(e)} (a full disk or a file-size '
          f"limit?). The run's latest checkpoint ({self._manager.latest_checkpoint!r}), the "
          'best one and metrics.json are as they were; free space and run the same command '
          'again to resume from it.') from e

  def save(self, step):
    """Saves the run at `step` unless the latest checkpoint already is of `step`.

    Raises:
      CheckpointWriteError: if it cannot be written (nothing else is changed).
    """
    if self._manager.latest_checkpoint != os.path.join(self._directory, f'{_PREFIX}-{step}'):
      self._write(self._manager, step)

  def save_best(self, step):
    """Saves the run at `step` as the best checkpoint (replacing the previous best).

    Raises:
      CheckpointWriteError: if it cannot be written (nothing else is changed).
    """
    self._write(self._best, step)


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
