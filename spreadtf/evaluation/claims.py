"""Declared comparisons tested over seeds: difference, interval, Welch and permutation p, verdict.

`assess(groups, declared)` takes the report's configurations (`{name: [runs]}`, each run with a
`values` dict of its metrics) and the study's declared `comparisons.Comparison`s, and for each
one compares the two configurations' per-seed values of its metric:

  * the difference of means, first - second, with its 95% Welch interval;
  * Welch's t-test (two-sided) and an exact permutation test (Monte Carlo beyond 200,000
    relabelings), each p-value also Holm-adjusted over the declared comparisons (the default);
  * Hedges' g;
  * the verdict sentence of `verdicts.verdict` on the (adjusted) Welch p, noting when the
    permutation test does not confirm it.

Holm is on by default: the declared comparisons are the study's claims and are read together;
uncorrected, five true-null claims at 0.05 give a 23% chance (if independent) that at least one
reads "holds" or "reversed". Holm keeps that chance at most 0.05 under any dependence between the
tests and rejects at least everything Bonferroni does; the raw p-values are shown next to the
adjusted ones. The intervals of the differences are per comparison (not simultaneous).
"""

import dataclasses
import math

import numpy as np

from spreadtf.evaluation import comparisons
from spreadtf.evaluation import statistics
from spreadtf.evaluation import verdicts

__all__ = ['CORRECTIONS', 'Claim', 'assess', 'markdown_table']

CORRECTIONS = ('holm', 'none')


@dataclasses.dataclass(frozen=True)
class Claim:
  """A declared comparison with its numbers.

  Attributes:
    comparison: the `comparisons.Comparison`.
    first_values, second_values: the finite per-seed values of each side.
    welch: `statistics.WelchTest` (two-sided), None with fewer than 2 values on a side.
    permutation: `statistics.PermutationTest` (two-sided), None likewise.
    hedges_g: Hedges' g of first - second (NaN without a test).
    welch_p: the Welch p-value used by the verdict (Holm-adjusted when `adjusted`).
    permutation_p: the permutation p-value, adjusted likewise.
    adjusted: True when the p-values above are Holm-adjusted over several comparisons.
    verdict: the sentence, e.g. 'holds (Holm p = 0.012, g = 1.9, n = 5 + 5)'.
  """
  comparison: comparisons.Comparison
  first_values: tuple
  second_values: tuple
  welch: statistics.WelchTest | None
  permutation: statistics.PermutationTest | None
  hedges_g: float
  welch_p: float
  permutation_p: float
  adjusted: bool
  verdict: str


def _finite(runs, key):
  values = [r.values.get(key) for r in runs]
  return tuple(float(v) for v in values
               if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v))


def _check(groups, declared):
  """Refuses comparisons naming an unknown configuration or a metric no run has."""
  keys = {k for runs in groups.values() for r in runs for k in r.values}
  for comparison in declared:
    if not isinstance(comparison, comparisons.Comparison):
      raise TypeError(f'declared comparisons must be comparisons.Comparison, got {comparison!r}.')
    for side in (comparison.first, comparison.second):
      if side not in groups:
        raise ValueError(f'{comparison} names configuration {side!r}, which is not among the '
                         f'report\'s configurations {sorted(groups)}: name a configuration by '
                         'its directory (<name>/seed=<s>/) or by the label the report prints.')
    if comparison.metric not in keys:
      raise ValueError(f'{comparison} names metric {comparison.metric!r}, which no run has; '
                       f'the runs have {sorted(keys)}.')


def assess(groups, declared, alpha=0.05, correction='holm', level=0.95, seed=0):
  """Tests every declared comparison over the seeds of its two configurations.

  Args:
    groups: `{configuration name: [runs]}`, each run with a `values` dict (e.g.
      `report.group_by_config(...)`).
    declared: sequence of `comparisons.Comparison`.
    alpha: significance level of the verdicts.
    correction: 'holm' (default; see the module docstring) or 'none'.
    level: confidence level of the differences' intervals.
    seed: seed of the Monte Carlo permutation test (used only beyond 200,000 relabelings).

  Returns:
    A list of `Claim`, in the order declared.

  Raises:
    ValueError: for a comparison naming an unknown configuration or a metric no run has, or an
      unknown `correction`.
    TypeError: for a declared entry that is not a `Comparison`.
  """
  if correction not in CORRECTIONS:
    raise ValueError(f'correction must be one of {CORRECTIONS}, got {correction!r}.')
  declared = list(declared)
  _check(groups, declared)
  rows = []
  for comparison in declared:
    first = _finite(groups[comparison.first], comparison.metric)
    second = _finite(groups[comparison.second], comparison.metric)
    welch = permutation = None
    g = float('nan')
    if min(len(first), len(second)) >= 2:
      welch = statistics.welch_test(first, second, level=level)
      permutation = statistics.permutation_test(first, second, seed=seed)
      g = statistics.hedges_g(first, second)
    rows.append((comparison, first, second, welch, permutation, g))
  welch_p = np.array([w.p_value if w else np.nan for _, _, _, w, _, _ in rows])
  permutation_p = np.array([p.p_value if p else np.nan for _, _, _, _, p, _ in rows])
  adjusted = correction == 'holm' and np.count_nonzero(np.isfinite(welch_p)) > 1
  if adjusted:
    welch_p, permutation_p = statistics.holm(welch_p), statistics.holm(permutation_p)
  claims = []
  for i, (comparison, first, second, welch, permutation, g) in enumerate(rows):
    sentence = verdicts.verdict(
        welch.difference if welch else float('nan'), welch_p[i], g, len(first), len(second),
        comparison.higher_is_better, alpha=alpha,
        permutation_p=permutation_p[i] if permutation else None,
        p_name='Holm p' if adjusted else 'p')
    claims.append(Claim(comparison, first, second, welch, permutation, g, float(welch_p[i]),
                        float(permutation_p[i]), adjusted, sentence))
  return claims


def _decimals(welch):
  """Decimals that show the interval's half-width to two significant digits."""
  half = (welch.high - welch.low) / 2.
  return max(0, 1 - math.floor(math.log10(half))) if half > 0 else 3


def _number(value, digits):
  return f'{value:,.{digits}f}'


def _p_cell(raw, adjusted_p, adjusted):
  text = verdicts.format_p(raw)
  return f'{text} (Holm {verdicts.format_p(adjusted_p)})' if adjusted else text


def _row(claim, digits):
  comparison = claim.comparison
  sign = '>' if comparison.higher_is_better else '<'
  name = f'{comparison.metric}: {comparison.first} {sign} {comparison.second}'
  sizes = f'{len(claim.first_values)} + {len(claim.second_values)}'
  welch, permutation = claim.welch, claim.permutation
  if welch is None:
    return f'| {name} | {sizes} | | | | | | {claim.verdict} |'
  digits = digits.get(comparison.metric, _decimals(welch))
  difference = (f'{_number(welch.difference, digits)} [{_number(welch.low, digits)}, '
                f'{_number(welch.high, digits)}]')
  if math.isnan(welch.t):
    test = welch_cell = 'n/a'
  else:
    test = f'{welch.t:.2f} ({welch.df:.1f})'
    welch_cell = _p_cell(welch.p_value, claim.welch_p, claim.adjusted)
  kind = 'exact' if permutation.exact else 'Monte Carlo'
  permutation_cell = (_p_cell(permutation.p_value, claim.permutation_p, claim.adjusted)
                      + f', {kind} over {permutation.num_relabelings:,}')
  g = 'n/a' if math.isnan(claim.hedges_g) else f'{claim.hedges_g:.2f}'
  return (f'| {name} | {sizes} | {difference} | {test} | {welch_cell} | {permutation_cell} | '
          f'{g} | {claim.verdict} |')


def markdown_table(claims, digits=None):
  """A Markdown table of `assess`'s claims, one row each.

  Args:
    claims: list of `Claim`.
    digits: optional `{metric key: decimals}` for the differences (else enough decimals for two
      significant digits of the interval's half-width).

  Returns:
    The table as text ('' for no claims). The claim column reads `metric: first > second` when
    higher is better (`<` when lower is), i.e. the direction declared.
  """
  if not claims:
    return ''
  lines = ['| claim (declared direction) | seeds | difference first - second [95% CI] | '
           'Welch t (df) | Welch p | permutation p | Hedges\' g | verdict |',
           '|---|---|---|---|---|---|---|---|']
  lines.extend(_row(claim, digits or {}) for claim in claims)
  return '\n'.join(lines) + '\n'
