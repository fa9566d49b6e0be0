"""A declared comparison of a study: which metric, which two configurations, which direction.

A study declares its claims before it sees the numbers, each as a `Comparison`:

    Comparison('sharpness', 'delta_vae_laplace', 'delta_vae_gaussian', higher_is_better=True)

reads "the Laplace delta-VAE's samples are sharper than the Gaussian one's". The report tests
every declared comparison over the seeds of the two configurations (`report.compare`) and gives
it a verdict ("holds", "reversed", "not distinguishable with 5 seeds"). A study file
(`spreadtf.studies.study_file`) declares them as dicts with the same fields (`from_dict`), checked
against the study's configurations (`check_comparisons`) before any run.
"""

import dataclasses

__all__ = ['Comparison', 'from_dict', 'check_comparisons']

_FIELDS = ('metric', 'first', 'second', 'higher_is_better')


@dataclasses.dataclass(frozen=True)
class Comparison:
  """The claim that configuration `first` is better than `second` on `metric`.

  Attributes:
    metric: the metric's key in `eval.json` / `metrics.json`, e.g. 'frechet_distance'.
    first: the configuration claimed better (a report group's name, e.g. its directory).
    second: the configuration it is compared with.
    higher_is_better: True when a higher value of `metric` is better (ELBO, sharpness, recall),
      False when lower is (FD, KID).

  Raises:
    ValueError: (on construction) for an empty metric or configuration name, equal `first` and
      `second`, or a `higher_is_better` that is not a bool.
  """
  metric: str
  first: str
  second: str
  higher_is_better: bool

  def __post_init__(self):
    for name in ('metric', 'first', 'second'):
      value = getattr(self, name)
      if not isinstance(value, str) or not value.strip():
        raise ValueError(f'Comparison.{name} must be a non-empty string, got {value!r}.')
    if self.first == self.second:
      raise ValueError(f'Comparison of {self.metric!r} compares {self.first!r} with itself: '
                       'name two different configurations.')
    if not isinstance(self.higher_is_better, bool):
      raise ValueError('Comparison.higher_is_better must be True (higher is better) or False '
                       f'(lower is better), got {self.higher_is_better!r}.')

  def describe(self):
    """E.g. 'sharpness: delta_vae_laplace > delta_vae_gaussian (higher is better)'."""
    sign, better = ('>', 'higher') if self.higher_is_better else ('<', 'lower')
    return f'{self.metric}: {self.first} {sign} {self.second} ({better} is better)'


def from_dict(entry):
  """A `Comparison` from a study file's dict entry (keys: metric, first, second, higher_is_better).

  Raises:
    ValueError: naming unknown or missing keys, or a bad value.
  """
  if not isinstance(entry, dict):
    raise ValueError(f'a comparison is a dict with keys {list(_FIELDS)}, got {entry!r}.')
  unknown = sorted(set(entry) - set(_FIELDS))
  missing = [key for key in _FIELDS if key not in entry]
  if unknown or missing:
    raise ValueError(f'comparison {entry!r}: unknown keys {unknown}, missing keys {missing}; a '
                     f'comparison has exactly {list(_FIELDS)}.')
  return Comparison(**entry)


def check_comparisons(declared, configurations, metrics=None):
  """Raises ValueError unless every comparison names known configurations (and metrics).

  Args:
    declared: `Comparison`s.
    configurations: the configuration names they may use.
    metrics: None (any metric), or the metric keys they may use.
  """
  for comparison in declared:
    for name in (comparison.first, comparison.second):
      if name not in configurations:
        raise ValueError(f'comparison "{comparison.describe()}" names the configuration '
                         f'{name!r}, which the study does not have; its configurations are '
                         f'{list(configurations)}.')
    if metrics is not None and comparison.metric not in metrics:
      raise ValueError(f'comparison "{comparison.describe()}" names the metric '
                       f'{comparison.metric!r}, which the report does not know; use one of '
                       f'{list(metrics)}.')
