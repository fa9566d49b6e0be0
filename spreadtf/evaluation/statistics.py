"""Statistics over seeds and over test images: intervals, two-sample tests, effect size, verdicts.

A study trains every configuration with several seeds; a claim compares two configurations on one
metric. This module turns the per-seed numbers into what a claim may say:

  * `t_interval`: mean and Student-t confidence interval over seeds (n - 1 degrees of freedom);
  * `welch_test`: Welch's unequal-variance t-test of the difference of means, two-sided or
    one-sided in a declared direction, with the Welch-Satterthwaite interval of the difference;
  * `hedges_g`: the standardised difference with Hedges' small-sample correction;
  * `permutation_test`: the difference of means against all relabelings of the pooled seeds
    (exact when there are at most `max_exact` of them, else a seeded Monte Carlo);
  * `bootstrap_interval`: percentile bootstrap over the test images of one run's per-image metric
    (how much of a run's number is the particular test images);
  * `holm`: Holm's step-down adjustment when several declared comparisons are tested together.

The words a claim gets from these numbers are `spreadtf.evaluation.verdicts.verdict`.

Everything is NumPy/SciPy in float64 and deterministic (the Monte Carlo parts take a seed).

#### References

[1] B. L. Welch. The generalization of "Student's" problem when several different population
    variances are involved. Biometrika 34, 1947.
[2] L. V. Hedges. Distribution theory for Glass's estimator of effect size and related
    estimators. Journal of Educational Statistics 6(2), 1981.
[3] M. Borenstein, L. V. Hedges, J. P. T. Higgins, H. R. Rothstein. Introduction to
    Meta-Analysis. Wiley, 2009 (chapter 4).
[4] B. Phipson, G. K. Smyth. Permutation p-values should never be zero. Statistical
    Applications in Genetics and Molecular Biology 9(1), 2010.
[5] S. Holm. A simple sequentially rejective multiple test procedure. Scandinavian Journal of
    Statistics 6(2), 1979.
"""

import dataclasses
import itertools
import math

import numpy as np
from scipy import special
from scipy import stats

__all__ = ['Interval', 'WelchTest', 'PermutationTest', 'ALTERNATIVES', 't_interval',
           'welch_test', 'hedges_correction', 'hedges_g', 'permutation_test',
           'bootstrap_interval', 'holm']

ALTERNATIVES = ('two-sided', 'greater', 'less')


@dataclasses.dataclass(frozen=True)
class Interval:
  """An estimate with a confidence interval.

  Attributes:
    estimate: the sample mean.
    low, high: the interval's ends (None when it cannot be formed: a single value).
    n: number of values.
    level: confidence level, e.g. 0.95.
  """
  estimate: float
  low: float | None
  high: float | None
  n: int
  level: float


@dataclasses.dataclass(frozen=True)
class WelchTest:
  """Welch's t-test of mean(first) - mean(second).

  Attributes:
    difference: mean(first) - mean(second).
    low, high: the two-sided `level` interval of the difference (Welch-Satterthwaite df).
    t: the statistic, difference / sqrt(s1^2 / n1 + s2^2 / n2).
    df: the Welch-Satterthwaite degrees of freedom.
    p_value: of `alternative` ('greater': first > second).
    alternative: one of `ALTERNATIVES`.
    n_first, n_second: the sample sizes.
    level: the interval's confidence level.
  """
  difference: float
  low: float
  high: float
  t: float
  df: float
  p_value: float
  alternative: str
  n_first: int
  n_second: int
  level: float


@dataclasses.dataclass(frozen=True)
class PermutationTest:
  """A permutation test of mean(first) - mean(second).

  Attributes:
    difference: the observed mean(first) - mean(second).
    p_value: of `alternative` ('greater': first > second).
    alternative: one of `ALTERNATIVES`.
    exact: True when every relabeling was enumerated, False for a Monte Carlo estimate.
    num_relabelings: relabelings used (all of them, or the Monte Carlo draws).
  """
  difference: float
  p_value: float
  alternative: str
  exact: bool
  num_relabelings: int


def _values(values, name, min_size=1):
  """`values` as a finite float64 vector of at least `min_size` entries, or a clear error."""
  array = np.asarray(values, np.float64)
  if array.ndim != 1:
    raise ValueError(f'{name} must be a 1-d sequence of numbers, got shape {array.shape}.')
  if len(array) < min_size:
    raise ValueError(f'{name} needs at least {min_size} value(s), got {len(array)}.')
  if not np.all(np.isfinite(array)):
    raise ValueError(f'{name} holds non-finite values ({array[~np.isfinite(array)][:3]}): drop '
                     'or fix them (a diverged run?) before testing.')
  return array


def _check_level(level):
  if not 0. < level < 1.:
    raise ValueError(f'level must be in (0, 1), e.g. 0.95, got {level}.')


def _check_alternative(alternative):
  if alternative not in ALTERNATIVES:
    raise ValueError(f'alternative must be one of {ALTERNATIVES}, got {alternative!r}.')


def t_interval(values, level=0.95):
  """Mean and Student-t confidence interval: mean +- t_{n-1, (1+level)/2} s / sqrt(n).

  Args:
    values: 1-d finite numbers, e.g. one metric over seeds, shape `[n]`.
    level: confidence level.

  Returns:
    An `Interval`; `low` and `high` are None for a single value.

  Raises:
    ValueError: for no values, non-finite values or a level outside (0, 1).
  """
  _check_level(level)
  values = _values(values, 'values')
  mean, n = float(values.mean()), len(values)
  if n < 2:
    return Interval(mean, None, None, n, level)
  half = stats.t.ppf(0.5 + level / 2., n - 1) * values.std(ddof=1) / math.sqrt(n)
  return Interval(mean, mean - half, mean + half, n, level)


def welch_test(first, second, alternative='two-sided', level=0.95):
  """Welch's unequal-variance t-test of mean(first) - mean(second).

  t = d / se with d = mean(first) - mean(second), se = sqrt(s1^2 / n1 + s2^2 / n2), and
  df = se^4 / ((s1^2 / n1)^2 / (n1 - 1) + (s2^2 / n2)^2 / (n2 - 1)). With no variation in either
  sample (se = 0) the test is undefined: t, df and p are NaN and the interval is the point d.

  Args:
    first, second: 1-d finite numbers, at least 2 each (e.g. a metric over seeds).
    alternative: 'two-sided', 'greater' (first > second) or 'less' (first < second).
    level: confidence level of the (always two-sided) interval of the difference.

  Returns:
    A `WelchTest`; `t` and `p_value` equal `scipy.stats.ttest_ind(first, second,
    equal_var=False, alternative=alternative)`.

  Raises:
    ValueError: for fewer than 2 values in a sample, non-finite values, an unknown alternative
      or a level outside (0, 1).
  """
  _check_alternative(alternative)
  _check_level(level)
  first, second = _values(first, 'first', 2), _values(second, 'second', 2)
  n1, n2 = len(first), len(second)
  v1, v2 = first.var(ddof=1) / n1, second.var(ddof=1) / n2
  difference = float(first.mean() - second.mean())
  se = math.sqrt(v1 + v2)
  if se == 0.:
    nan = float('nan')
    return WelchTest(difference, difference, difference, nan, nan, nan, alternative, n1, n2,
                     level)
  df = (v1 + v2) ** 2 / (v1 ** 2 / (n1 - 1) + v2 ** 2 / (n2 - 1))
  t = difference / se
  p_value = {'two-sided': lambda: 2. * stats.t.sf(abs(t), df),
             'greater': lambda: stats.t.sf(t, df),
             'less': lambda: stats.t.cdf(t, df)}[alternative]()
  half = stats.t.ppf(0.5 + level / 2., df) * se
  return WelchTest(difference, difference - half, difference + half, float(t), float(df),
                   float(min(1., p_value)), alternative, n1, n2, level)


def hedges_correction(df):
  """Hedges' exact small-sample factor J(df) = Gamma(df / 2) / (sqrt(df / 2) Gamma((df - 1) / 2)).

  It makes g = J d unbiased for normal data; J(df) ~= 1 - 3 / (4 df - 1) (the form textbooks
  tabulate), J(2) = 1 / sqrt(pi), J(4) = sqrt(2 / pi).

  Raises:
    ValueError: for df < 2 (two samples of at least 2 values each have df >= 2).
  """
  if df < 2:
    raise ValueError(f'Hedges\' correction needs df >= 2, got {df}.')
  return float(math.exp(special.gammaln(df / 2.) - special.gammaln((df - 1.) / 2.))
               / math.sqrt(df / 2.))


def hedges_g(first, second):
  """Hedges' g of mean(first) - mean(second), the bias-corrected standardised difference.

  g = J(n1 + n2 - 2) (mean1 - mean2) / s_pooled, with
  s_pooled = sqrt(((n1 - 1) s1^2 + (n2 - 1) s2^2) / (n1 + n2 - 2)) and J from
  `hedges_correction`. Without J this is Cohen's d, which overstates the effect for few seeds
  (by 1 / J = 1.11 at 5 + 5 seeds).

  Args:
    first, second: 1-d finite numbers, at least 2 each.

  Returns:
    g as a float; NaN when neither sample varies (s_pooled = 0).

  Raises:
    ValueError: for fewer than 2 values in a sample or non-finite values.
  """
  first, second = _values(first, 'first', 2), _values(second, 'second', 2)
  n1, n2 = len(first), len(second)
  df = n1 + n2 - 2
  pooled = math.sqrt(((n1 - 1) * first.var(ddof=1) + (n2 - 1) * second.var(ddof=1)) / df)
  if pooled == 0.:
    return float('nan')
  return hedges_correction(df) * float(first.mean() - second.mean()) / pooled


def _p_from_null(null, observed, alternative):
  """Share of the null differences at least as extreme as `observed` (ties count, with slack)."""
  # Differences of means of the same numbers summed in another order differ by rounding only;
  # the slack counts such ties as ties, which keeps the test exact (conservative side).
  slack = 1e-9 * max(1., float(np.max(np.abs(null))), abs(observed))
  if alternative == 'greater':
    extreme = null >= observed - slack
  elif alternative == 'less':
    extreme = null <= observed + slack
  else:
    extreme = np.abs(null) >= abs(observed) - slack
  return int(np.count_nonzero(extreme))


def permutation_test(first, second, alternative='two-sided', max_exact=200_000,
                     num_resamples=9_999, seed=0):
  """Permutation test of mean(first) - mean(second) under exchangeable labels.

  The null distribution is the difference of means over relabelings of the pooled values into
  groups of n1 and n2. When C(n1 + n2, n1) <= `max_exact` every relabeling is enumerated and
  p = #{relabelings at least as extreme as observed} / C(n1 + n2, n1) (the observed labeling is
  among them, so p >= 1 / C). Otherwise `num_resamples` random relabelings are drawn with
  `numpy.random.default_rng(seed)` and p = (1 + #{as extreme}) / (1 + num_resamples) (Phipson &
  Smyth 2010: never 0, valid at any number of draws). Two-sided compares |difference|.

  With 3 + 3 seeds there are only 20 relabelings: the smallest two-sided p is 0.1, so no claim
  can be made at 0.05 by this test; 5 + 5 seeds give 252 (smallest two-sided p 0.008).

  Args:
    first, second: 1-d finite numbers, at least 1 each.
    alternative: 'two-sided', 'greater' (first > second) or 'less'.
    max_exact: largest number of relabelings enumerated exactly.
    num_resamples: Monte Carlo relabelings when there are more.
    seed: the Monte Carlo seed.

  Returns:
    A `PermutationTest`.

  Raises:
    ValueError: for an empty sample, non-finite values, an unknown alternative or
      num_resamples < 1.
  """
  _check_alternative(alternative)
  if num_resamples < 1:
    raise ValueError(f'num_resamples must be >= 1, got {num_resamples}.')
  first, second = _values(first, 'first'), _values(second, 'second')
  n1, n2 = len(first), len(second)
  pooled = np.concatenate([first, second])
  total = pooled.sum()
  observed = float(first.mean() - second.mean())
  num_exact = math.comb(n1 + n2, n1)
  if num_exact <= max_exact:
    chosen = np.fromiter(itertools.chain.from_iterable(itertools.combinations(range(n1 + n2), n1)),
                         np.int64, count=num_exact * n1).reshape(num_exact, n1)
    sums = pooled[chosen].sum(axis=1)
    null = sums / n1 - (total - sums) / n2
    return PermutationTest(observed, _p_from_null(null, observed, alternative) / num_exact,
                           alternative, True, num_exact)
  rng = np.random.default_rng(seed)
  sums = np.empty(num_resamples)
  chunk = max(1, 2_000_000 // (n1 + n2))
  for start in range(0, num_resamples, chunk):
    size = min(chunk, num_resamples - start)
    order = np.argsort(rng.random((size, n1 + n2)), axis=1)[:, :n1]
    sums[start:start + size] = pooled[order].sum(axis=1)
  null = sums / n1 - (total - sums) / n2
  p_value = (1. + _p_from_null(null, observed, alternative)) / (1. + num_resamples)
  return PermutationTest(observed, p_value, alternative, False, num_resamples)


def bootstrap_interval(values, level=0.95, num_resamples=10_000, seed=0):
  """Percentile bootstrap interval of the mean of `values` (e.g. one run's per-image ELBO).

  Resamples the values with replacement `num_resamples` times (`numpy.random.default_rng(seed)`)
  and takes the (1 - level) / 2 and (1 + level) / 2 quantiles of the resampled means. It measures
  how much a run's number owes to the particular test images, not the seed-to-seed variation.

  Args:
    values: 1-d finite numbers, shape `[num_images]`.
    level: confidence level.
    num_resamples: bootstrap resamples.
    seed: the resampling seed.

  Returns:
    An `Interval` whose estimate is the mean of `values`; no interval for a single value.

  Raises:
    ValueError: for no values, non-finite values, a level outside (0, 1) or num_resamples < 1.
  """
  _check_level(level)
  if num_resamples < 1:
    raise ValueError(f'num_resamples must be >= 1, got {num_resamples}.')
  values = _values(values, 'values')
  n = len(values)
  if n < 2:
    return Interval(float(values[0]), None, None, 1, level)
  rng = np.random.default_rng(seed)
  means = np.empty(num_resamples)
  chunk = max(1, 2_000_000 // n)
  for start in range(0, num_resamples, chunk):
    size = min(chunk, num_resamples - start)
    means[start:start + size] = values[rng.integers(0, n, size=(size, n))].mean(axis=1)
  low, high = np.quantile(means, [0.5 - level / 2., 0.5 + level / 2.])
  return Interval(float(values.mean()), float(low), float(high), n, level)


def holm(p_values):
  """Holm's step-down adjusted p-values, in the order given.

  With the m finite p-values sorted, p_(1) <= ... <= p_(m), the adjusted value of p_(i) is
  max_{j <= i} min(1, (m - j + 1) p_(j)). Rejecting where the adjusted p < alpha keeps the chance
  of any false rejection among the m at most alpha, whatever their dependence. NaN entries (tests
  that could not be made) stay NaN and do not count in m.

  Args:
    p_values: sequence of p-values in [0, 1] (or NaN).

  Returns:
    float64 array of the adjusted p-values, same length and order.

  Raises:
    ValueError: for a p-value outside [0, 1].
  """
  p_values = np.asarray(p_values, np.float64).reshape(-1)
  finite = np.isfinite(p_values)
  if np.any((p_values[finite] < 0.) | (p_values[finite] > 1.)):
    raise ValueError(f'p-values must be in [0, 1], got {p_values.tolist()}.')
  adjusted = np.full_like(p_values, np.nan)
  index = np.flatnonzero(finite)
  order = index[np.argsort(p_values[index], kind='stable')]
  m = len(order)
  scaled = np.minimum(1., (m - np.arange(m)) * p_values[order])
  adjusted[order] = np.maximum.accumulate(scaled)
  return adjusted
