"""The options of a training run, checked in one place before the run touches anything.

`RunOptions` holds every argument of the gin root `training_run.train` except where and how it
runs (the workdir and the strategy); constructing it checks them, with errors that name the
binding (`train.<option>`) and say what to pass. `loop.train_loop`, usable on its own, checks its
own arguments with the same functions.
"""

import dataclasses
import typing

from spreadtf import nonfinite_guard

__all__ = ['ON_NONFINITE', 'EXPORT_CHECKPOINTS', 'ON_DATA_CHANGE', 'RunOptions',
           'check_on_nonfinite', 'check_steps_per_loop', 'check_max_consecutive_skipped']

ON_NONFINITE = ('stop', 'skip_step')
EXPORT_CHECKPOINTS = ('latest', 'best')
ON_DATA_CHANGE = ('refuse', 'reshuffle')


def check_on_nonfinite(value, name='on_nonfinite'):
  """Raises ValueError naming `name` unless `value` is one of `ON_NONFINITE`."""
  if value not in ON_NONFINITE:
    raise ValueError(f'{name} must be one of {ON_NONFINITE}, got {value!r}.')


def check_steps_per_loop(value, name='steps_per_loop'):
  """Raises ValueError naming `name` unless `value` is an int >= 1."""
  if not isinstance(value, int) or isinstance(value, bool) or value < 1:
    raise ValueError(f'{name} must be an int >= 1, got {value!r}.')


def check_max_consecutive_skipped(value, name='max_consecutive_skipped'):
  """Raises ValueError naming `name` unless `value` is None, an int >= 1 or a float in (0, 1]."""
  if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
    return
  if isinstance(value, float) and 0. < value <= 1.:
    return
  raise ValueError(f'{name} must be None (no limit), an int >= 1 (steps in a row) or a float '
                   f'in (0, 1] (a fraction of an epoch), got {value!r}.')


def _check_max_update_ratio(value):
  if value is None:
    return
  if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0.:
    raise ValueError('train.max_update_ratio must be None (no bound) or a number > 0 (the '
                     'default, 100, refuses an update larger than 100 times the weights\' '
                     f'norm), got {value!r}.')


@dataclasses.dataclass(frozen=True)
class RunOptions:
  """The arguments of `training_run.train` but the workdir and strategy (see its docstring).

  Raises (on construction):
    ValueError: naming the option, for a bad `on_nonfinite`, `steps_per_loop`,
      `stop_after_stalled_evals`, `export_checkpoint`, `on_data_change`,
      `max_consecutive_skipped` or `max_update_ratio`, or early stopping or a best-checkpoint
      export without evaluations.
  """
  seed: int
  data_fn: typing.Callable
  model_fn: typing.Callable
  optimizer_fn: typing.Callable
  global_batch_size: int = 100
  num_steps: int = 1000
  steps_per_epoch: int = 100
  steps_per_loop: int = 10
  eval_steps: int = 10
  checkpoints_to_keep: int = 3
  num_samples: int = 64
  export: bool = True
  export_checkpoint: str = 'latest'
  on_nonfinite: str = 'stop'
  stop_after_stalled_evals: int | None = None
  checkpoint_input: bool = True
  spread_schedule: typing.Any = None
  spread_optimizer_fn: typing.Callable | None = None
  init_checkpoint: str | None = None
  num_eigenvectors: int = 20
  verbose: bool = True
  on_data_change: str = 'refuse'
  max_consecutive_skipped: int | float | None = 100
  max_update_ratio: float | None = nonfinite_guard.DEFAULT_MAX_UPDATE_RATIO

  def __post_init__(self):
    check_on_nonfinite(self.on_nonfinite, 'train.on_nonfinite')
    check_max_consecutive_skipped(self.max_consecutive_skipped, 'train.max_consecutive_skipped')
    _check_max_update_ratio(self.max_update_ratio)
    if self.on_data_change not in ON_DATA_CHANGE:
      raise ValueError(f'train.on_data_change must be one of {ON_DATA_CHANGE}, got '
                       f'{self.on_data_change!r}.')
    check_steps_per_loop(self.steps_per_loop, 'train.steps_per_loop')
    patience = self.stop_after_stalled_evals
    if patience is not None:
      if not isinstance(patience, int) or isinstance(patience, bool) or patience < 1:
        raise ValueError('train.stop_after_stalled_evals must be None or an int >= 1, got '
                         f'{patience!r}.')
      if not self.eval_steps:
        raise ValueError('train.stop_after_stalled_evals needs evaluations: set '
                         'train.eval_steps > 0.')
    if self.export_checkpoint not in EXPORT_CHECKPOINTS:
      raise ValueError(f'train.export_checkpoint must be one of {EXPORT_CHECKPOINTS}, got '
                       f'{self.export_checkpoint!r}.')
    if self.export_checkpoint == 'best' and not self.eval_steps:
      raise ValueError("train.export_checkpoint = 'best' needs evaluations (the best checkpoint "
                       "is the best held-out ELBO's): set train.eval_steps > 0, or export "
                       "'latest'.")

  def arguments(self):
    """`{name: value}` of every option, as `workdir_config.make_config` records them."""
    return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
