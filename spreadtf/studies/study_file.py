"""A study file: the configurations, seeds, evaluation options and declared comparisons of a study.

A study file is a gin file (under `gin/studies/`) that binds the configurable `study`:

    import spreadtf.studies.study_file

    study.configurations = [
        {'name': 'delta_vae_gaussian',
         'gin_files': ['mnist/delta_vae_gaussian.gin', 'data/mnist5k.gin']},
        {'name': 'delta_vae_lowrank',
         'gin_files': ['mnist/delta_vae_lowrank.gin', 'data/mnist5k.gin'],
         'evaluation': {'checkpoint': 'latest'}},
    ]
    study.seeds = [0, 1, 2]
    study.gin_bindings = ['train.verbose = False']      # for every training run
    study.evaluation = {'num_importance_samples': 1000, 'num_sample_sets': 5}
    study.comparisons = [
        {'metric': 'frechet_distance', 'first': 'delta_vae_lowrank',
         'second': 'delta_vae_gaussian', 'higher_is_better': False},
    ]

A configuration is a dict with
  * `name`: its directory under the study's workdir and its row in the report (letters, digits,
    `_`, `-`, `.`);
  * `gin_files`: the training gin files (as for `launch/train.py --gin_file`);
  * `gin_bindings` (optional): its own bindings, applied after the study's `gin_bindings`;
  * `evaluation` (optional): evaluation options that override the study's for this
    configuration (e.g. `{'checkpoint': 'latest'}` for a learned spread);
  * `after` (optional): names of earlier configurations whose run of the same seed must have
    finished training first (a run that starts from another: its bindings may name that run's
    directory with `$WORKDIR/<name>/seed=$SEED`);
  * `seeds` (optional): its own seeds instead of the study's (an expensive configuration may run
    fewer; the report's tests then compare unequal numbers of seeds, and say so).
In every binding, `$WORKDIR` stands for the study's workdir and `$SEED` for the run's seed. The
evaluation options are the flags of `launch/evaluate.py` (`spreadtf.evaluation.commands.
EVALUATE_OPTIONS`), e.g. `num_importance_samples`, `features`, `num_sample_sets`, `checkpoint`.
A comparison is a dict with the fields of `spreadtf.evaluation.comparisons.Comparison`.

    study = study_file.load_study('studies/mnist5k.gin')
"""

import dataclasses
import json
import re

import gin

from spreadtf import gin_parsing
from spreadtf.evaluation import commands
from spreadtf.evaluation import comparisons as comparisons_lib
from spreadtf.evaluation import report
from spreadtf.evaluation import yardstick

__all__ = ['Configuration', 'Study', 'study', 'load_study']

_NAME = re.compile(r'^[A-Za-z0-9_.-]+$')
_RESERVED = ('report',)   # <workdir>/report holds the report
_KEYS = ('name', 'gin_files', 'gin_bindings', 'evaluation', 'after', 'seeds')


@dataclasses.dataclass(frozen=True)
class Configuration:
  """One configuration of a study.

  Attributes:
    name: its directory under the workdir and its label in the report.
    gin_files: training gin files, relative to the repository's gin/ or absolute.
    gin_bindings: its own training bindings (after the study's), with `$WORKDIR` and `$SEED`.
    evaluation: evaluation options overriding the study's for this configuration.
    after: names of configurations whose run of the same seed must finish training first.
    seeds: its own training seeds (e.g. fewer for an expensive configuration), or None for the
      study's (`Study.seeds_of`).
  """
  name: str
  gin_files: tuple
  gin_bindings: tuple = ()
  evaluation: dict = dataclasses.field(default_factory=dict)
  after: tuple = ()
  seeds: tuple | None = None


@dataclasses.dataclass(frozen=True)
class Study:
  """A parsed study file.

  Attributes:
    configurations: `Configuration`s, in the file's order.
    seeds: the training seeds (ints), in order.
    evaluation: the evaluation options of every run (`launch/evaluate.py` flags as a dict).
    comparisons: the declared `spreadtf.evaluation.comparisons.Comparison`s.
    gin_bindings: training bindings of every configuration.
  """
  configurations: tuple
  seeds: tuple
  evaluation: dict
  comparisons: tuple
  gin_bindings: tuple = ()

  def configuration(self, name):
    """The configuration called `name`."""
    return {c.name: c for c in self.configurations}[name]

  def seeds_of(self, configuration):
    """The training seeds of `configuration`'s runs: its own, or else the study's."""
    return self.seeds if configuration.seeds is None else configuration.seeds

  def evaluation_options(self, configuration):
    """The evaluation options of `configuration`'s runs: the study's, then its own, as JSON."""
    options = dict(self.evaluation)
    options.update(configuration.evaluation)
    return json.loads(json.dumps(options, sort_keys=True))   # lists, not tuples: as recorded


def _metric_keys(evaluation, configurations):
  """The report's metric keys and those of every yardstick the study evaluates."""
  keys = [metric.key for metric in report.METRICS]
  for options in [evaluation] + [c.evaluation for c in configurations]:
    keys += [k for k in yardstick.metric_keys(options.get('yardstick', ())) if k not in keys]
  return keys


def _check_evaluation(options, where):
  if not isinstance(options, dict):
    raise ValueError(f'{where}: evaluation options are a dict of launch/evaluate.py flags, got '
                     f'{options!r}.')
  unknown = sorted(set(options) - set(commands.EVALUATE_OPTIONS))
  if unknown:
    raise ValueError(f'{where}: unknown evaluation option(s) {unknown}; the options are the '
                     f'flags of launch/evaluate.py: {list(commands.EVALUATE_OPTIONS)}.')
  if 'workdir' in options:
    raise ValueError(f'{where}: the study sets each run\'s workdir; drop it from the options.')
  try:
    yardstick.parse(options.get('yardstick', ()))
  except ValueError as e:
    raise ValueError(f'{where}: {e}') from e


def _check_seeds(seeds, where):
  """`seeds` as a tuple, or ValueError unless it is a non-empty list of distinct ints >= 0."""
  seeds = list(seeds) if isinstance(seeds, (list, tuple)) else seeds
  if (not isinstance(seeds, list) or not seeds or len(set(seeds)) != len(seeds)
      or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)):
    raise ValueError(f'{where} must be a non-empty list of distinct non-negative ints, got '
                     f'{seeds!r}.')
  return tuple(seeds)


def _configuration(entry, earlier):
  """A `Configuration` from a study file's dict entry; `earlier` names the ones before it."""
  if not isinstance(entry, dict) or 'name' not in entry or 'gin_files' not in entry:
    raise ValueError(f'a configuration is a dict with at least `name` and `gin_files` (and '
                     f'optionally {list(_KEYS[2:])}), got {entry!r}.')
  name = entry['name']
  unknown = sorted(set(entry) - set(_KEYS))
  if unknown:
    raise ValueError(f'configuration {name!r}: unknown key(s) {unknown}; the keys are '
                     f'{list(_KEYS)}.')
  if not isinstance(name, str) or not _NAME.match(name) or name in _RESERVED:
    raise ValueError(f'configuration name {name!r} must be a directory name of letters, digits, '
                     f'`_`, `-` and `.`, and not {list(_RESERVED)}.')
  if name in earlier:
    raise ValueError(f'two configurations are called {name!r}; names must be unique.')
  gin_files = entry['gin_files']
  if isinstance(gin_files, str) or not gin_files:
    raise ValueError(f'configuration {name!r}: gin_files must be a non-empty list of gin files, '
                     f'got {gin_files!r}.')
  after = tuple(entry.get('after', ()))
  for other in after:
    if other not in earlier:
      raise ValueError(f'configuration {name!r} runs after {other!r}, which is not a '
                       f'configuration listed before it (earlier: {list(earlier)}).')
  _check_evaluation(entry.get('evaluation', {}), f'configuration {name!r}')
  seeds = entry.get('seeds')
  if seeds is not None:
    seeds = _check_seeds(seeds, f'configuration {name!r}: seeds')
  return Configuration(name=name, gin_files=tuple(gin_files),
                       gin_bindings=tuple(entry.get('gin_bindings', ())),
                       evaluation=dict(entry.get('evaluation', {})), after=after, seeds=seeds)


def _check_after_seeds(parsed, seeds):
  """A configuration run `after` another needs that one's run of each of its seeds."""
  by_name = {c.name: c for c in parsed}
  for configuration in parsed:
    own = set(seeds if configuration.seeds is None else configuration.seeds)
    for other in configuration.after:
      theirs = set(seeds if by_name[other].seeds is None else by_name[other].seeds)
      if not own <= theirs:
        raise ValueError(f'configuration {configuration.name!r} runs after {other!r}, which has '
                         f'no run of seed(s) {sorted(own - theirs)}; give {other!r} those seeds.')


@gin.configurable('study', module='spreadtf.studies.study_file')
def study(configurations=gin.REQUIRED, seeds=gin.REQUIRED, evaluation=None, comparisons=(),
          gin_bindings=()):
  """The study a study file binds (see the module docstring), checked.

  Args:
    configurations: a list of configuration dicts (`name`, `gin_files`, and optionally
      `gin_bindings`, `evaluation`, `after`, `seeds`: its own seeds instead of the study's).
    seeds: a list of distinct non-negative ints.
    evaluation: None or a dict of `launch/evaluate.py` flags for every run.
    comparisons: a list of comparison dicts (`metric`, `first`, `second`, `higher_is_better`).
    gin_bindings: training bindings of every configuration, before each one's own.

  Returns:
    A `Study`.

  Raises:
    ValueError: naming the entry and what is wrong with it.
  """
  configurations = list(configurations or ())
  if not configurations:
    raise ValueError('study.configurations is empty: list at least one configuration.')
  parsed = []
  for entry in configurations:
    parsed.append(_configuration(entry, [c.name for c in parsed]))
  seeds = _check_seeds(seeds, 'study.seeds')
  _check_after_seeds(parsed, seeds)
  evaluation = dict(evaluation or {})
  _check_evaluation(evaluation, 'study.evaluation')
  declared = tuple(comparisons_lib.from_dict(entry) for entry in comparisons)
  comparisons_lib.check_comparisons(declared, [c.name for c in parsed],
                                    _metric_keys(evaluation, parsed))
  if isinstance(gin_bindings, str):
    raise ValueError(f'study.gin_bindings is a list of bindings, got the string {gin_bindings!r}.')
  return Study(configurations=tuple(parsed), seeds=seeds, evaluation=evaluation,
               comparisons=declared, gin_bindings=tuple(gin_bindings))


def load_study(path, gin_bindings=()):
  """Parses a study file (and bindings for it) into a `Study`; leaves gin cleared.

  Args:
    path: the study file, relative to the repository's gin/ (e.g. 'studies/mnist5k.gin') or
      absolute.
    gin_bindings: bindings of the study file itself, e.g. 'study.seeds = [0]'.

  Returns:
    A `Study`.

  Raises:
    FileNotFoundError, ValueError: for a missing file, an unknown binding (see
      `spreadtf.gin_parsing.parse`) or a bad study (see `study`).
  """
  gin_parsing.parse([path], list(gin_bindings))
  try:
    return study()
  finally:
    gin.clear_config()
