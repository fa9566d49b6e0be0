"""The checks a run makes on its data before it writes anything.

  * **The data did not change under the checkpoint** (`compare_fingerprints`). Every
    checkpoint holds the fingerprints (`spreadtf.data.fingerprints`) of the splits the run
    reads; a run that resumes compares them with the data's now. A changed data set would
    meet a saved input position that no longer fits it (TensorFlow fails inside the first step
    naming nothing, or worse, reads on silently). So the run is refused, naming what changed
    ('folder_files: 20 then, 22 now') and the two ways on: restore the data, or
    `train.on_data_change = 'reshuffle'`, which resumes the model, optimizers and progress and
    reads the new data through a fresh pipeline shuffled from the step it resumes at (the run
    no longer reads the batches an uninterrupted one would; it says so in its log).
  * **The first batches can be read** (`check_readable`): one training batch (which fills the
    shuffle buffer: for a data set that fits in it, every training image is decoded) and the
    held-out batches of one evaluation (all it will ever read: evaluations start from the
    beginning), each from its own iterator, so the run's own input position is untouched. For
    a resumed run the training batch is the next one of its saved position. A file that cannot
    be decoded, a truncated image, a wrong size or channel count, or too few images for one
    batch stops the run here, before its configuration is rewritten or a TensorBoard event
    written.

A data function of your own records no fingerprint (unless it calls
`spreadtf.data.fingerprints.record`); its changes are not detected, but a saved position that
does not fit is still caught by the first-batch check.
"""

import re

from absl import logging
import tensorflow as tf

from spreadtf.data import fingerprints
from spreadtf.training import run_options

__all__ = ['ON_DATA_CHANGE', 'DataChangedError', 'DataUnreadableError', 'current_fingerprints',
           'compare_fingerprints', 'check_readable']

ON_DATA_CHANGE = run_options.ON_DATA_CHANGE
_ASSERTION = re.compile(r'assertion failed: \[(.*?)\](?:\s|$)', re.DOTALL)


class DataChangedError(ValueError):
  """The data a run reads differs from the data its checkpoint was trained on."""


class DataUnreadableError(ValueError):
  """The first batches of a split cannot be read."""


def current_fingerprints(datasets):
  """`{split: fingerprint}` of the datasets a run reads (splits without one are left out).

  Args:
    datasets: `{split: tf.data.Dataset}`.
  """
  found = {split: fingerprints.of(dataset) for split, dataset in datasets.items()}
  return {split: fingerprint for split, fingerprint in found.items() if fingerprint is not None}


def compare_fingerprints(then, now, checkpoint, on_data_change):
  """Whether the run's data changed since `checkpoint` (see the module docstring).

  Args:
    then: `{split: fingerprint}` saved in the checkpoint, or None (a checkpoint without).
    now: `{split: fingerprint}` of the data now.
    checkpoint: the checkpoint's prefix, for messages.
    on_data_change: 'refuse' or 'reshuffle'.

  Returns:
    True if the data changed and `on_data_change` is 'reshuffle' (the run must read a fresh
    pipeline), else False.

  Raises:
    DataChangedError: naming each split, what changed and the two ways on, when the data
      changed and `on_data_change` is 'refuse'. Nothing is written.
  """
  if not then:
    if now:
      logging.info('checkpoint %s records no data fingerprint (written before spreadtf kept '
                   'one): whether the data changed since is not checked.', checkpoint)
    return False
  changes = []
  for split in sorted(set(then) & set(now)):
    lines = fingerprints.differences(then[split], now[split])
    if lines:
      source = now[split].get('source', then[split].get('source', 'the data'))
      changes.append(f'the {split!r} split ({source}): ' + '; '.join(lines))
  if not changes:
    return False
  what = '\n  '.join(changes)
  if on_data_change == 'reshuffle':
    logging.warning('the data changed since checkpoint %s:\n  %s\nResuming the model and '
                    "optimizers with a fresh input pipeline (train.on_data_change = "
                    "'reshuffle'): the saved input position is not used.", checkpoint, what)
    return True
  raise DataChangedError(
      f'the data changed since checkpoint {checkpoint!r} was written:\n  {what}\nIts saved '
      'input position does not fit the data any more. Nothing was changed. Either restore the '
      'data as it was and run again, or resume the model and optimizers with a fresh input '
      "pipeline: --gin_bindings=\"train.on_data_change = 'reshuffle'\" (the run then no longer "
      'reads the batches an uninterrupted run would).')


def _reason(error):
  """The useful part of a pipeline error: a spreadtf assertion's text, else the first line."""
  message = error.message if isinstance(error, tf.errors.OpError) else str(error)
  match = _ASSERTION.search(message)
  return match.group(1).strip() if match else message.strip().splitlines()[0]


def check_readable(iterator, split, num_batches, where='its first batches', advice=''):
  """Reads `num_batches` batches from `iterator` (the run's own is never passed here).

  Args:
    iterator: a fresh iterator of the split's pipeline (or one restored to the saved position).
    split: the split's name, for messages.
    num_batches: how many batches to read.
    where: what is read, for messages.
    advice: what to do, appended to the message.

  Raises:
    DataUnreadableError: naming the split and the problem (for a bad image file, the file), when
      a batch cannot be read or the split gives fewer batches than asked. Nothing is written.
  """
  try:
    for _ in range(num_batches):
      next(iterator)
  except StopIteration as e:
    raise DataUnreadableError(
        f'the {split!r} data gives no batch ({where}): it holds fewer images than one global '
        'batch (train.global_batch_size). Nothing was changed; use more data or a smaller '
        f'batch.{advice}') from e
  except (tf.errors.OpError, ValueError) as e:
    raise DataUnreadableError(
        f'the {split!r} data cannot be read ({where}): {_reason(e)} Nothing was changed; fix the '
        f'data and run again.{advice}') from e
