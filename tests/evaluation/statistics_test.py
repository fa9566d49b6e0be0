"""Tests of the statistics over seeds and test images: known answers, scipy, coverage."""

import math

from absl.testing import parameterized
import numpy as np
from scipy import stats
import tensorflow as tf

from spreadtf.evaluation import statistics

_FIRST = [81.2, 78.4, 90.3, 77.9, 85.0]
_SECOND = [86.1, 85.4, 86.3, 85.0, 87.2, 85.8]


def _with_moments(n, mean, sd, seed):
  """n numbers whose sample mean and sample s.d. (ddof=1) are exactly `mean` and `sd`."""
  values = np.random.default_rng(seed).normal(size=n)
  return mean + sd * (values - values.mean()) / values.std(ddof=1)


class TIntervalTest(tf.test.TestCase):

  def test_known_interval_of_three_values(self):
    interval = statistics.t_interval([1., 2., 3.])
    # s = 1, t_{2, 0.975} = 4.302653: half-width 4.302653 / sqrt(3) = 2.484138.
    self.assertAllClose([interval.estimate, interval.low, interval.high],
                        [2., 2. - 2.484138, 2. + 2.484138], atol=1e-6)
    self.assertEqual((interval.n, interval.level), (3, 0.95))

  def test_one_value_has_no_interval(self):
    self.assertEqual(statistics.t_interval([4.]), statistics.Interval(4., None, None, 1, 0.95))

  def test_covers_the_true_mean_95_percent_of_the_time_at_five_seeds(self):
    rng = np.random.default_rng(0)
    samples = rng.normal(3., 2., size=(4000, 5))
    covered = [statistics.t_interval(s).low <= 3. <= statistics.t_interval(s).high
               for s in samples]
    # Binomial s.d. of the coverage over 4,000 draws: sqrt(0.95 * 0.05 / 4000) = 0.0034; +-0.02
    # is 6 s.d. A normal quantile (1.96) instead of t_4 (2.78) would cover only ~88%: it fails.
    self.assertBetween(np.mean(covered), 0.93, 0.97)

  def test_refuses_bad_input(self):
    with self.assertRaisesRegex(ValueError, 'at least 1'):
      statistics.t_interval([])
    with self.assertRaisesRegex(ValueError, 'non-finite'):
      statistics.t_interval([1., float('nan')])
    with self.assertRaisesRegex(ValueError, 'level'):
      statistics.t_interval([1., 2.], level=95)


class WelchTestTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters('two-sided', 'greater', 'less')
  def test_equals_scipy_welch(self, alternative):
    result = statistics.welch_test(_FIRST, _SECOND, alternative)
    expected = stats.ttest_ind(_FIRST, _SECOND, equal_var=False, alternative=alternative)
    self.assertAllClose([result.t, result.p_value, result.df],
                        [expected.statistic, expected.pvalue, expected.df], rtol=1e-12)
    self.assertAllClose(result.difference, np.mean(_FIRST) - np.mean(_SECOND), rtol=1e-12)

  def test_interval_equals_scipy_and_the_welch_satterthwaite_formula(self):
    result = statistics.welch_test([1., 2., 3.5], [2., 4., 6., 9.])
    interval = stats.ttest_ind([1., 2., 3.5], [2., 4., 6., 9.],
                               equal_var=False).confidence_interval(0.95)
    self.assertAllClose([result.low, result.high], [interval.low, interval.high], rtol=1e-12)
    v1, v2 = np.var([1., 2., 3.5], ddof=1) / 3, np.var([2., 4., 6., 9.], ddof=1) / 4
    self.assertAllClose(result.df, (v1 + v2) ** 2 / (v1 ** 2 / 2 + v2 ** 2 / 3), rtol=1e-12)

  def test_one_sided_p_halves_the_two_sided_in_the_observed_direction(self):
    two_sided = statistics.welch_test(_FIRST, _SECOND).p_value
    self.assertAllClose(statistics.welch_test(_FIRST, _SECOND, 'less').p_value, two_sided / 2)
    self.assertAllClose(statistics.welch_test(_FIRST, _SECOND, 'greater').p_value,
                        1. - two_sided / 2)

  def test_no_variation_gives_no_test(self):
    result = statistics.welch_test([1., 1.], [2., 2., 2.])
    self.assertTrue(math.isnan(result.p_value))
    self.assertEqual((result.difference, result.low, result.high), (-1., -1., -1.))

  def test_refuses_bad_input(self):
    with self.assertRaisesRegex(ValueError, 'first needs at least 2'):
      statistics.welch_test([1.], [1., 2.])
    with self.assertRaisesRegex(ValueError, 'alternative'):
      statistics.welch_test([1., 2.], [1., 2.], alternative='larger')
    with self.assertRaisesRegex(ValueError, '1-d'):
      statistics.welch_test([[1., 2.]], [1., 2.])


class HedgesGTest(tf.test.TestCase):

  def test_textbook_example(self):
    # Borenstein et al., Introduction to Meta-Analysis (2009), section 4.2: means 103 and 100,
    # s.d. 5.5 and 4.5, n = 50 + 50: d = 0.5970, J = 0.9923, g = 0.5924 (printed to 4 decimals).
    first, second = _with_moments(50, 103., 5.5, 0), _with_moments(50, 100., 4.5, 1)
    self.assertAllClose(statistics.hedges_g(first, second), 0.5924, atol=6e-5)
    self.assertAllClose(statistics.hedges_g(second, first), -0.5924, atol=6e-5)

  def test_correction_closed_forms(self):
    self.assertAllClose(statistics.hedges_correction(2), 1. / math.sqrt(math.pi), rtol=1e-12)
    self.assertAllClose(statistics.hedges_correction(4), math.sqrt(2. / math.pi), rtol=1e-12)
    # The textbook approximation 1 - 3 / (4 df - 1) is within 0.3% from df = 4 on.
    for df in (4, 8, 20, 98):
      self.assertAllClose(statistics.hedges_correction(df), 1. - 3. / (4. * df - 1.), rtol=3e-3)
    with self.assertRaisesRegex(ValueError, 'df >= 2'):
      statistics.hedges_correction(1)

  def test_unbiased_at_five_seeds_where_cohens_d_is_not(self):
    rng = np.random.default_rng(0)
    g = [statistics.hedges_g(rng.normal(1., 1., 5), rng.normal(0., 1., 5)) for _ in range(4000)]
    # s.d. of g at delta = 1, n = 5 + 5 is about 0.7: the mean of 4,000 has s.e. 0.011; 0.045 is
    # 4 s.e. Cohen's d = g / J(8) averages 1 / J(8) = 1.107, outside the tolerance.
    self.assertAllClose(np.mean(g), 1., atol=0.045)
    self.assertGreater(np.mean(g) / statistics.hedges_correction(8), 1.06)

  def test_no_variation_gives_nan(self):
    self.assertTrue(math.isnan(statistics.hedges_g([1., 1.], [2., 2.])))


class PermutationTestTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(
      # [3, 4] vs [1, 2]: the 6 splits of {1, 2, 3, 4} give mean differences -2, -1, 0, 0, 1, 2.
      ('two_by_two_two_sided', [3., 4.], [1., 2.], 'two-sided', 2 / 6),
      ('two_by_two_greater', [3., 4.], [1., 2.], 'greater', 1 / 6),
      ('two_by_two_less', [3., 4.], [1., 2.], 'less', 6 / 6),
      # {1, ..., 5} into 2 + 3: the pair sums s = 3, 4, 5, 5, 6, 6, 7, 7, 8, 9 give differences
      # s / 2 - (15 - s) / 3 = (5 s - 30) / 6. [4, 5] has s = 9, the largest.
      ('two_by_three_extreme_greater', [4., 5.], [1., 2., 3.], 'greater', 1 / 10),
      ('two_by_three_extreme_two_sided', [4., 5.], [1., 2., 3.], 'two-sided', 2 / 10),
      # [2, 5] has s = 7 (difference 5 / 6, tied with [3, 4]): s >= 7 four times; |difference|
      # >= 5 / 6 for every s but 6 (eight), which counts the ties on both sides.
      ('two_by_three_tied_greater', [2., 5.], [1., 3., 4.], 'greater', 4 / 10),
      ('two_by_three_tied_two_sided', [2., 5.], [1., 3., 4.], 'two-sided', 8 / 10),
  )
  def test_exact_p_value_counted_by_hand(self, first, second, alternative, expected):
    result = statistics.permutation_test(first, second, alternative)
    self.assertTrue(result.exact)
    self.assertAllClose(result.p_value, expected, rtol=1e-12)
    self.assertEqual(result.num_relabelings, math.comb(len(first) + len(second), len(first)))

  def test_monte_carlo_agrees_with_exact_and_is_seeded(self):
    rng = np.random.default_rng(3)
    first, second = rng.normal(0.8, 1., 6), rng.normal(0., 1., 6)
    exact = statistics.permutation_test(first, second)
    sampled = statistics.permutation_test(first, second, max_exact=0, seed=7)
    self.assertFalse(sampled.exact)
    self.assertEqual(sampled.num_relabelings, 9999)
    # Binomial s.e. of a Monte Carlo p over 9,999 draws is at most 0.005; 0.02 is 4 of them.
    self.assertAllClose(sampled.p_value, exact.p_value, atol=0.02)
    self.assertEqual(statistics.permutation_test(first, second, max_exact=0, seed=7), sampled)
    self.assertNotEqual(statistics.permutation_test(first, second, max_exact=0, seed=8).p_value,
                        sampled.p_value)

  def test_monte_carlo_p_value_is_never_zero(self):
    result = statistics.permutation_test(np.arange(20.) + 100., np.arange(20.), max_exact=0,
                                         num_resamples=99)
    self.assertEqual(result.p_value, 1. / 100.)

  def test_smallest_p_at_three_seeds_cannot_reach_five_percent(self):
    result = statistics.permutation_test([10., 11., 12.], [1., 2., 3.])
    self.assertAllClose(result.p_value, 2. / 20.)


class BootstrapIntervalTest(tf.test.TestCase):

  def test_contains_the_mean_and_is_seeded(self):
    values = np.random.default_rng(0).exponential(2., 500)
    interval = statistics.bootstrap_interval(values, num_resamples=2000, seed=1)
    self.assertLess(interval.low, values.mean())
    self.assertGreater(interval.high, values.mean())
    self.assertEqual(interval.estimate, values.mean())
    self.assertEqual(statistics.bootstrap_interval(values, num_resamples=2000, seed=1), interval)
    self.assertNotEqual(statistics.bootstrap_interval(values, num_resamples=2000, seed=2),
                        interval)

  def test_narrows_with_more_images_like_one_over_root_n(self):
    rng = np.random.default_rng(0)
    small, large = rng.normal(0., 1., 100), rng.normal(0., 1., 1600)
    width = [i.high - i.low for i in (statistics.bootstrap_interval(small),
                                      statistics.bootstrap_interval(large))]
    # 16 times the images: sqrt(16) = 4 times narrower, up to the two samples' own s.d.s.
    self.assertBetween(width[0] / width[1], 3.2, 4.8)
    # And close to the normal-theory width 2 * 1.96 s / sqrt(n) (10%: the percentile method's
    # own Monte Carlo error over 10,000 resamples is about 2%).
    self.assertAllClose(width[1], 2 * 1.96 * large.std(ddof=1) / 40., rtol=0.1)

  def test_refuses_bad_input(self):
    with self.assertRaisesRegex(ValueError, 'non-finite'):
      statistics.bootstrap_interval([1., float('inf')])
    with self.assertRaisesRegex(ValueError, 'num_resamples'):
      statistics.bootstrap_interval([1., 2.], num_resamples=0)


class HolmTest(tf.test.TestCase):

  def test_known_adjustment(self):
    # Sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1: 0.02, 0.03, 0.06, 0.04; running maximum
    # 0.02, 0.03, 0.06, 0.06; back in the given order:
    self.assertAllClose(statistics.holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])

  def test_caps_at_one_and_leaves_nan_out_of_the_family(self):
    self.assertAllClose(statistics.holm([0.6, float('nan'), 0.02]), [0.6, float('nan'), 0.04])
    self.assertAllClose(statistics.holm([0.3]), [0.3])
    self.assertAllClose(statistics.holm([0.5, 0.7, 0.9]), [1., 1., 1.])

  def test_refuses_p_values_outside_zero_one(self):
    with self.assertRaisesRegex(ValueError, r'in \[0, 1\]'):
      statistics.holm([0.1, 1.5])


if __name__ == '__main__':
  tf.test.main()
