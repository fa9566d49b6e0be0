"""Every private or legacy TensorFlow and gin API spreadtf relies on, in one place.

Each wrapper below uses one API that is not covered by TensorFlow's (or gin's) compatibility
guarantees. When an upgrade removes or moves it, the wrapper raises `PrivateApiChanged` naming
the API, the installed version and what spreadtf uses it for, instead of an `AttributeError` deep
inside training; `tests/compat_test.py` exercises each wrapper on a known case, so a version bump
fails there first, with that message.

Wrapper, the private API it uses, and what for:

  * `fused_batch_norm`: `tf.compat.v1.nn.fused_batch_norm`, TF's fused kernel in
    `models.batch_norm` (Keras 3's unfused BatchNorm was a quarter of the CelebA conv step);
  * `strategy_supports_no_merge_call`: `tf.__internal__.distribute`, where the non-finite guard
    (`spreadtf.nonfinite_guard`) may branch without `merge_call`;
  * `iterator_save_problem`: `tf.data.Dataset._variant_tensor` and `DatasetToGraphV2`, whether
    `training.checkpoints` can save the input position;
  * `dataset_inputs`: `tf.data.Dataset._inputs`, the datasets a dataset is built from (a data
    source's fingerprint is found through a user's `.map(...)`, `spreadtf.data.fingerprints`);
  * `write_checkpoint_state`: `checkpoint_management.update_checkpoint_state_internal`, a
    checkpoint directory's state file with relative paths, as `tf.train.CheckpointManager`
    writes it (`training.checkpoints`, after a run resumed from another checkpoint than it named);
  * `platform_has_preemption_notices`: `tensorflow.python.distribute.failure_handling`, TF's
    preemption handler or spreadtf's SIGTERM handler (`training.preemption`);
  * `gin_binding_statements`: `gin.config_parser`, a run's bindings read without evaluating them
    (`training.workdir_config`);
  * `summary_events`: `tf.compat.v1.train.summary_iterator`, TensorBoard event files (tests).
"""

import contextlib
from importlib import metadata
import os
import time

import tensorflow as tf

__all__ = ['PrivateApiChanged', 'fused_batch_norm', 'strategy_supports_no_merge_call',
           'iterator_save_problem', 'dataset_inputs', 'write_checkpoint_state',
           'checkpoint_saving_modules',
           'platform_has_preemption_notices',
           'gin_binding_statements', 'summary_events']


class PrivateApiChanged(RuntimeError):
  """A private TensorFlow or gin API that spreadtf wraps is gone or changed."""

  def __init__(self, api, purpose, error):
    super().__init__(
        f'{api} is not available as spreadtf expects with TensorFlow {tf.__version__} and '
        f'gin-config {metadata.version("gin-config")} ({type(error).__name__}: {error}). '
        f'spreadtf uses it for {purpose}; update spreadtf/_compat.py for this version, or '
        'install the pinned versions of pyproject.toml.')


@contextlib.contextmanager
def _private(api, purpose):
  """Turns the errors of a moved or removed API into `PrivateApiChanged`."""
  try:
    yield
  except (AttributeError, ImportError) as e:
    raise PrivateApiChanged(api, purpose, e) from e


def fused_batch_norm(x, scale, offset, mean=None, variance=None, epsilon=1e-3,
                     is_training=True):
  """TensorFlow's fused batch normalisation of NHWC images (`tf.compat.v1.nn.fused_batch_norm`).

  Args:
    x: `[batch, height, width, channels]` float tensor.
    scale: `[channels]` gamma.
    offset: `[channels]` beta.
    mean: `[channels]` moving mean (inference), or None in training.
    variance: `[channels]` moving variance (inference), or None in training.
    epsilon: added to the variance.
    is_training: normalise with the batch's moments (True) or with `mean` and `variance`.

  Returns:
    `(outputs, batch_mean, batch_variance)`; in training the variance is the unbiased one, as
    TensorFlow's fused kernel returns it.
  """
  with _private('tf.compat.v1.nn.fused_batch_norm', 'the fused BatchNorm of the conv nets'):
    return tf.compat.v1.nn.fused_batch_norm(x, scale, offset, mean=mean, variance=variance,
                                            epsilon=epsilon, is_training=is_training)


def strategy_supports_no_merge_call():
  """True if the current replica context may branch on a value without `merge_call`."""
  with _private('tf.__internal__.distribute.strategy_supports_no_merge_call',
                "the non-finite guard's conditional update under tf.distribute"):
    return tf.__internal__.distribute.strategy_supports_no_merge_call()


def iterator_save_problem(dataset):
  """Why an iterator over `dataset` cannot be saved in a checkpoint, or None if it can.

  TensorFlow only says so at the first save; this asks the check `SerializeIterator` makes
  (`DatasetToGraphV2` with external_state_policy FAIL) on the dataset's graph beforehand.

  Args:
    dataset: a `tf.data.Dataset`.

  Returns:
    None, or TensorFlow's one-line reason (e.g. naming a stateful `tf.py_function`).
  """
  with _private('tf.data.Dataset._variant_tensor',
                'checking that the input position can be saved in a checkpoint'):
    variant = dataset._variant_tensor  # pylint: disable=protected-access
  try:
    tf.raw_ops.DatasetToGraphV2(input_dataset=variant, external_state_policy=2)
  except tf.errors.OpError as e:
    return e.message.strip().splitlines()[0]
  return None


def dataset_inputs(dataset):
  """The datasets `dataset` is built from (its inputs; none for a source), as a list."""
  with _private('tf.data.Dataset._inputs', "finding a data source's fingerprint"):
    return list(dataset._inputs())  # pylint: disable=protected-access


def write_checkpoint_state(directory, latest, prefixes):
  """Writes `directory`'s `checkpoint` state file (atomically) as CheckpointManager does.

  Every checkpoint gets the current time as its timestamp, after the last preserved one, so a
  `tf.train.CheckpointManager` created afterwards rotates them out as its own.

  Args:
    directory: the checkpoint directory.
    latest: the prefix of the latest checkpoint, in `directory`.
    prefixes: the prefixes of all kept checkpoints (in `directory`), oldest first.
  """
  with _private('checkpoint_management.update_checkpoint_state_internal',
                "rewriting a checkpoint directory's state file"):
    # pylint: disable-next=g-import-not-at-top
    from tensorflow.python.checkpoint import checkpoint_management
    now = time.time()
    checkpoint_management.update_checkpoint_state_internal(
        save_dir=directory, model_checkpoint_path=os.path.basename(latest),
        all_model_checkpoint_paths=[os.path.basename(p) for p in prefixes],
        save_relative_paths=True, all_model_checkpoint_timestamps=[now] * len(prefixes),
        last_preserved_timestamp=now - 1.)


def checkpoint_saving_modules():
  """TensorFlow's `checkpoint_management` and `functional_saver` modules.

  Only the fault-injection tool of the tests uses them, to kill a process at a named moment of a
  checkpoint save (between a save's shards and their merge, while the state file is replaced).

  Returns:
    `(checkpoint_management, functional_saver)`.
  """
  with _private('tensorflow.python.checkpoint', 'killing a test process in the middle of a '
                'checkpoint save (tests/end_to_end/fault_injection.py)'):
    # pylint: disable=g-import-not-at-top
    from tensorflow.python.checkpoint import checkpoint_management
    from tensorflow.python.checkpoint import functional_saver
    return checkpoint_management, functional_saver


def platform_has_preemption_notices():
  """False on GCE CPU and TPU VMs, where TensorFlow's PreemptionCheckpointHandler does nothing.

  TensorFlow's own platform check (it asks the GCE metadata server, which answers at once off
  GCE).
  """
  with _private('tensorflow.python.distribute.failure_handling.failure_handling_util',
                "choosing TensorFlow's preemption handler or spreadtf's SIGTERM handler"):
    # pylint: disable-next=g-import-not-at-top
    from tensorflow.python.distribute.failure_handling import failure_handling_util
    platform = failure_handling_util.detect_platform()
    return platform not in (failure_handling_util.PlatformDevice.GCE_CPU,
                            failure_handling_util.PlatformDevice.GCE_TPU)


def gin_binding_statements(config_text, configurable_reference, macro):
  """The bindings of a gin config text, parsed without evaluating references or macros.

  Args:
    config_text: gin config text (e.g. `gin.operative_config_str()`).
    configurable_reference: `fn(scoped_name, evaluate) -> value` for `@name` (`evaluate`:
      False) and `@name()` (True).
    macro: `fn(name) -> value` for `%NAME`.

  Returns:
    A list of `(scope, selector, arg_name, value)`; a macro definition has `arg_name` ''.
    Imports and includes are skipped.
  """
  with _private('gin.config_parser', "reading a run's recorded gin bindings"):
    # pylint: disable-next=g-import-not-at-top
    from gin import config_parser

    class Delegate(config_parser.ParserDelegate):

      def configurable_reference(self, scoped_configurable_name, evaluate):
        return configurable_reference(scoped_configurable_name, evaluate)

      def macro(self, macro_name):
        return macro(macro_name)

    statements = list(config_parser.ConfigParser(config_text, Delegate()))
    return [(s.scope, s.selector, s.arg_name, s.value) for s in statements
            if isinstance(s, config_parser.BindingStatement)]


def summary_events(path):
  """The `tf.compat.v1.Event` protos of a TensorBoard event file, in order."""
  with _private('tf.compat.v1.train.summary_iterator', 'reading TensorBoard event files'):
    return list(tf.compat.v1.train.summary_iterator(path))
