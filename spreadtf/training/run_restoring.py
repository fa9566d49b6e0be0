"""`restore_run`: a trained run's model back at the checkpoint asked for (training's boundary).

Evaluation (and anything else that reads a finished run) goes through `restore_run` instead of
reading a workdir itself: it re-reads the run's own `operative_config.gin` (so the model, the
spread and the data are the ones it trained with; extra `gin_bindings` go on top, e.g. a
`DATA_DIR` on another machine), rebuilds the model with `model_building.build_model` and restores
the networks and the spread of one checkpoint:

  * 'selected' (the default): the checkpoint the run exported (`<workdir>/export`, named in its
    `export_info.json`), so that what is evaluated is what ships; for a run without an export,
    the checkpoint its `train.export_checkpoint` selects;
  * 'best': the best held-out ELBO's (`best/`), or the latest when the run kept none;
  * 'latest': the end of training (for learned spreads, whose ELBO moves with the spread, the
    authors evaluated there);
  * or a checkpoint prefix (or a directory holding checkpoints).

    run = restore_run('runs/mnist5k/gaussian/seed=0')
    images = run.data_fn(split='test', global_batch_size=run.global_batch_size, seed=0,
                         repeat=False)
    print(run.step, run.exported_step, run.is_exported)
"""

import dataclasses
import typing

import gin
import tensorflow as tf

from spreadtf import gin_parsing
from spreadtf.training import checkpoints
from spreadtf.training import model_building
from spreadtf.training import run_options
from spreadtf.training import run_outputs
from spreadtf.training import training_run
from spreadtf.training import workdir_layout

__all__ = ['WHICH', 'RestoredRun', 'find_checkpoint', 'restore_run']

WHICH = ('selected', 'best', 'latest')  # Or a checkpoint prefix.


@dataclasses.dataclass(frozen=True)
class RestoredRun:
  """A trained run restored at one checkpoint.

  Attributes:
    layout: the run's `WorkdirLayout`.
    model: the `SpreadVAE` (not compiled: no optimizer), with the checkpoint's networks and
      spread.
    data_fn: the run's data function, `fn(split, global_batch_size, seed, repeat=True)`.
    seed: the run's seed.
    global_batch_size: the run's global batch size.
    checkpoint: the restored checkpoint's prefix.
    step: its training step.
    exported_step: the step of the run's export, or None if it has none (or an export
      written before exports were noted).
    exported_checkpoint: the prefix the export came from, or None.
  """
  layout: workdir_layout.WorkdirLayout
  model: typing.Any
  data_fn: typing.Callable
  seed: int
  global_batch_size: int
  checkpoint: str
  step: int
  exported_step: int | None = None
  exported_checkpoint: str | None = None

  @property
  def workdir(self):
    """The run's workdir."""
    return self.layout.workdir

  @property
  def is_exported(self):
    """True if the restored weights are the exported ones (the same step of this run)."""
    return self.exported_step is not None and self.step == self.exported_step


def _latest_or_best(layout, which):
  """The prefix of the best (else the latest) or the latest checkpoint of the run."""
  prefix = checkpoints.find_checkpoint(layout.checkpoints, which)
  if prefix is None and which == 'best':
    prefix = checkpoints.find_checkpoint(layout.checkpoints, 'latest')
  if prefix is None:
    raise FileNotFoundError(
        f'{layout.workdir!r} holds no checkpoint (looked in {layout.best_checkpoints!r} and '
        f'{layout.checkpoints!r}): train it first, e.g. python launch/train.py '
        f'--workdir={layout.workdir} --gin_file=...')
  return prefix


def _exported(layout):
  """`(step, prefix)` of the run's export, `(None, None)` without a noted export."""
  info = run_outputs.read_export_info(layout) or {}
  checkpoint = info.get('checkpoint')
  return info.get('step'), layout.resolve(checkpoint) if checkpoint else None


def find_checkpoint(workdir, which='selected', export_checkpoint='latest'):
  """The prefix of the checkpoint `which` names in the run at `workdir` (see the module doc).

  Args:
    workdir: a training run's workdir.
    which: 'selected', 'best', 'latest' or a checkpoint prefix (or a directory of checkpoints).
    export_checkpoint: the run's `train.export_checkpoint`, what 'selected' means for a run
      without an export.

  Raises:
    FileNotFoundError: naming the workdir when it holds no checkpoint, the prefix when it does
      not exist, or the exported checkpoint when the run went on after its export and no
      longer keeps it.
  """
  layout = workdir_layout.WorkdirLayout(workdir)
  if which in ('best', 'latest'):
    return _latest_or_best(layout, which)
  if which != 'selected':
    return checkpoints.checkpoint_prefix(which, [which], 'checkpoint')
  _, prefix = _exported(layout)
  if prefix is None:
    return _latest_or_best(layout, export_checkpoint)
  if not tf.io.gfile.exists(prefix + '.index'):
    raise FileNotFoundError(
        f'the exported checkpoint {prefix!r} (named by {layout.export_info!r}) no longer exists: '
        'the run went on after its export. Finish the run (run its training command again), or '
        "restore another checkpoint ('latest', 'best' or a prefix).")
  return prefix


def _root_argument(bindings, name):
  """A `training_run.train` argument from the run's gin bindings, else its default."""
  if name in bindings:
    return bindings[name]
  return next(f.default for f in dataclasses.fields(run_options.RunOptions) if f.name == name)


def restore_run(workdir, which='selected', gin_bindings=()):
  """Rebuilds the model of the run in `workdir` from its operative config and restores it.

  Args:
    workdir: a training run's workdir (`launch/train.py --workdir`).
    which: 'selected' (the exported checkpoint), 'best', 'latest', or a checkpoint prefix (see
      the module docstring).
    gin_bindings: extra bindings applied after the run's config (e.g. a new `DATA_DIR`); a
      misspelt one is an error.

  Returns:
    A `RestoredRun`.

  Raises:
    FileNotFoundError: if the workdir has no `operative_config.gin` or no such checkpoint.
    ValueError: for a bad binding in `gin_bindings`.
    RuntimeError: naming the checkpoint and the config when it cannot be restored into the
      model (another model, or a corrupt checkpoint).
  """
  layout = workdir_layout.WorkdirLayout(workdir)
  config = layout.operative_config
  if not tf.io.gfile.exists(config):
    raise FileNotFoundError(f'{config!r} does not exist: {workdir!r} is not a launch/train.py '
                            'run (or it never started).')
  # gin_parsing.parse, not gin directly: a misspelt macro in `gin_bindings` (a `DATA_DIR` typo)
  # would otherwise be accepted and evaluate the run on its training-time paths.
  gin_parsing.parse([config], list(gin_bindings), gin_dir=workdir)
  bindings = gin.get_bindings(training_run.train)
  prefix = find_checkpoint(workdir, which, _root_argument(bindings, 'export_checkpoint'))
  seed = bindings['seed']
  model = model_building.build_model(bindings['model_fn'], seed)
  checkpoints.restore_model(model, prefix, f'the model of {config!r}')
  exported_step, exported_checkpoint = _exported(layout)
  return RestoredRun(layout=layout, model=model, data_fn=bindings['data_fn'], seed=seed,
                     global_batch_size=_root_argument(bindings, 'global_batch_size'),
                     checkpoint=prefix, step=checkpoints.checkpoint_step(prefix),
                     exported_step=exported_step, exported_checkpoint=exported_checkpoint)
