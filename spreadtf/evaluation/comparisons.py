"""A declared comparison of a study: which metric, which two configurations, which direction.

A study declares its claims before it sees the numbers, each as a `Comparison`:

    Comparison('sharpness', 'delta_vae_laplace', 'delta_vae_gaussian', higher_is_better=True)

reads "the Laplace delta-VAE's samples are sharper than the Gaussian one's". The report tests
every declared comparison over the seeds of the two configurations (`report.compare`) and gives
it a verdict ("holds", "reversed", "not distinguishable with 5 seeds").
"""

import dataclasses

__all__ = ['Comparison']


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
