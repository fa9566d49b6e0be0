"""Training: `make_strategy`, the gin root `training_run.train`, and reading a run back.

Public names: `train` (the gin root, `training_run`), `make_strategy` (`strategy`),
`restore_run` (`run_restoring`: a trained run's model at its selected, best, latest or a given
checkpoint), `build_model` (`model_building`) and `WorkdirLayout` (`workdir_layout`: every path
of a run). The package is lazy (PEP 562), like `spreadtf` itself: importing
`spreadtf.training.workdir_layout` needs TensorFlow only, not Keras or TFP.
"""

import importlib

__all__ = ['WorkdirLayout', 'build_model', 'make_strategy', 'restore_run', 'train']

_NAMES = {'WorkdirLayout': 'workdir_layout', 'build_model': 'model_building',
          'make_strategy': 'strategy', 'restore_run': 'run_restoring', 'train': 'training_run'}


def __getattr__(name):
  """Imports a public name or a submodule on first use (PEP 562) and caches it."""
  if name in _NAMES:
    value = getattr(importlib.import_module(f'{__name__}.{_NAMES[name]}'), name)
  else:
    try:
      value = importlib.import_module(f'{__name__}.{name}')
    except ModuleNotFoundError as e:
      if e.name != f'{__name__}.{name}':
        raise
      raise AttributeError(f'module {__name__!r} has no attribute {name!r}') from None
  globals()[name] = value
  return value


def __dir__():
  return sorted(set(globals()) | set(__all__))
