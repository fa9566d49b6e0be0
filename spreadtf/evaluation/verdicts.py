"""The words a declared claim gets from its test: "holds", "reversed", "not distinguishable".

One function, `verdict`, turns a comparison's numbers (difference, p-value, Hedges' g, seeds per
side) into the sentence a report or a README may print, e.g.
'holds (p = 0.0031, g = 1.9, n = 5 + 5)' or 'not distinguishable with 5 seeds (p = 0.41)'. No
sentence says "holds" without a test behind it.

#### References

[1] H. F. Kaiser. Directional statistical decisions. Psychological Review 67(3), 1960.
"""

import numpy as np

__all__ = ['format_p', 'verdict']


def format_p(p_value):
  """A p-value as text: two significant digits, '< 0.001' below 0.001."""
  if p_value < 0.001:
    return '< 0.001'
  return f'{p_value:.2g}'


def _seeds(n_first, n_second):
  return f'{n_first} seeds' if n_first == n_second else f'{n_first} + {n_second} seeds'


def verdict(difference, p_value, effect_size, n_first, n_second, higher_is_better, alpha=0.05,
            permutation_p=None, p_name='p'):
  """The words a declared claim "first is better than second" gets from its test.

  The rule (a three-way decision on the two-sided p, Kaiser 1960):
    * fewer than 2 values on a side: "not tested" (no test, so no claim);
    * p not a number (no variation at all): "not testable";
    * p < `alpha` and the difference points the declared way (> 0 if `higher_is_better`,
      < 0 otherwise): "holds";
    * p < `alpha` and it points the other way: "reversed";
    * p >= `alpha`: "not distinguishable with N seeds".
  Deciding the sign from a two-sided test at alpha declares a wrong direction with probability
  at most alpha / 2; a one-sided test could not say "reversed". When `permutation_p` is given and
  is >= `alpha` while the verdict is "holds" or "reversed", the sentence says that the permutation
  test does not confirm it. `p_value` should be the Holm-adjusted one when several claims are
  tested together (`p_name` then says so). The effect size does not enter the rule; it is shown.

  Args:
    difference: mean(first) - mean(second).
    p_value: two-sided p-value of the difference (e.g. `welch_test(...).p_value`).
    effect_size: Hedges' g of the difference (NaN allowed).
    n_first, n_second: seeds per configuration.
    higher_is_better: the declared direction of the metric.
    alpha: significance level.
    permutation_p: optional two-sided permutation p-value (adjusted like `p_value`).
    p_name: how the sentence names `p_value`, e.g. 'Holm p'.

  Returns:
    A sentence such as 'holds (p = 0.0031, g = 1.9, n = 5 + 5)'.
  """
  sizes = f'n = {n_first} + {n_second}'
  if min(n_first, n_second) < 2:
    return f'not tested ({sizes}: a test needs at least 2 seeds per configuration)'
  if p_value is None or not np.isfinite(p_value):
    return f'not testable ({sizes}: no seed-to-seed variation)'
  numbers = f'{p_name} {_equals(p_value)}, g = {effect_size:.1f}, {sizes}'
  if p_value >= alpha:
    return f'not distinguishable with {_seeds(n_first, n_second)} ({p_name} {_equals(p_value)})'
  words = 'holds' if (difference > 0) == bool(higher_is_better) else 'reversed'
  text = f'{words} ({numbers})'
  if permutation_p is not None and permutation_p >= alpha:
    text += f'; the permutation test does not confirm it ({p_name} {_equals(permutation_p)})'
  return text


def _equals(p_value):
  text = format_p(p_value)
  return text if text.startswith('<') else f'= {text}'
