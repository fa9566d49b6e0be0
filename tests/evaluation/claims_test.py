"""Tests of the declared comparisons' tests and verdicts over report groups."""

import types

import numpy as np
from scipy import stats
import tensorflow as tf

from spreadtf.evaluation import claims
from spreadtf.evaluation import comparisons

_LAPLACE = [0.095, 0.092, 0.094, 0.090, 0.093]
_GAUSSIAN = [0.083, 0.085, 0.081, 0.084, 0.082]
_FD_LAPLACE = [78.0, 85.1, 74.2, 80.3, 90.2]
_FD_GAUSSIAN = [85.5, 86.4, 85.1, 86.2, 85.9]


def _groups(**columns):
  """`{configuration: [runs]}` from `name=(values of sharpness, values of FD)`."""
  return {name: [types.SimpleNamespace(values={'sharpness': s, 'frechet_distance': f})
                 for s, f in zip(*values, strict=True)] for name, values in columns.items()}


class AssessTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.groups = _groups(laplace=(_LAPLACE, _FD_LAPLACE), gaussian=(_GAUSSIAN, _FD_GAUSSIAN))
    self.sharper = comparisons.Comparison('sharpness', 'laplace', 'gaussian', True)
    self.lower_fd = comparisons.Comparison('frechet_distance', 'laplace', 'gaussian', False)

  def test_one_claim_gets_scipys_welch_p_unadjusted(self):
    [claim] = claims.assess(self.groups, [self.sharper])
    expected = stats.ttest_ind(_LAPLACE, _GAUSSIAN, equal_var=False)
    self.assertAllClose([claim.welch.t, claim.welch.p_value, claim.welch_p],
                        [expected.statistic, expected.pvalue, expected.pvalue], rtol=1e-12)
    self.assertFalse(claim.adjusted)
    # Every laplace value beats every gaussian one: only 2 of the 252 relabelings are as extreme.
    self.assertAllClose(claim.permutation.p_value, 2. / 252.)
    self.assertTrue(claim.permutation.exact)
    self.assertStartsWith(claim.verdict, 'holds (p < 0.001, g = 5.0, n = 5 + 5)')
    self.assertEqual(claim.first_values, tuple(_LAPLACE))

  def test_several_claims_are_holm_adjusted_and_keep_their_raw_p(self):
    sharper, lower_fd = claims.assess(self.groups, [self.sharper, self.lower_fd])
    raw = [stats.ttest_ind(a, b, equal_var=False).pvalue
           for a, b in ((_LAPLACE, _GAUSSIAN), (_FD_LAPLACE, _FD_GAUSSIAN))]
    self.assertAllClose([sharper.welch.p_value, lower_fd.welch.p_value], raw, rtol=1e-12)
    # Two p-values: the smaller doubled, the larger kept (but never below the smaller's).
    self.assertAllClose([sharper.welch_p, lower_fd.welch_p],
                        [2. * min(raw), max(max(raw), 2. * min(raw))], rtol=1e-12)
    self.assertTrue(sharper.adjusted)
    self.assertStartsWith(sharper.verdict, 'holds (Holm p < 0.001')
    self.assertStartsWith(lower_fd.verdict, 'not distinguishable with 5 seeds')
    unadjusted = claims.assess(self.groups, [self.sharper, self.lower_fd], correction='none')
    self.assertAllClose(unadjusted[0].welch_p, raw[0], rtol=1e-12)

  def test_the_reverse_claim_is_reversed(self):
    [claim] = claims.assess(self.groups, [
        comparisons.Comparison('sharpness', 'gaussian', 'laplace', True)])
    self.assertStartsWith(claim.verdict, 'reversed (')
    self.assertLess(claim.hedges_g, 0.)

  def test_missing_values_are_dropped_and_too_few_seeds_are_not_tested(self):
    groups = _groups(laplace=([0.09, None, float('nan')], [1., 2., 3.]),
                     gaussian=(_GAUSSIAN, _FD_GAUSSIAN))
    [claim] = claims.assess(groups, [self.sharper])
    self.assertEqual(claim.first_values, (0.09,))
    self.assertIsNone(claim.welch)
    self.assertTrue(np.isnan(claim.welch_p))
    self.assertStartsWith(claim.verdict, 'not tested (n = 1 + 5')

  def test_refuses_unknown_configurations_metrics_and_corrections(self):
    with self.assertRaisesRegex(ValueError, "'cauchy'.*not among.*'gaussian', 'laplace'"):
      claims.assess(self.groups, [comparisons.Comparison('sharpness', 'cauchy', 'gaussian',
                                                         True)])
    with self.assertRaisesRegex(ValueError, "'fid', which no run has"):
      claims.assess(self.groups, [comparisons.Comparison('fid', 'laplace', 'gaussian', False)])
    with self.assertRaisesRegex(ValueError, 'correction'):
      claims.assess(self.groups, [self.sharper], correction='bonferroni')
    with self.assertRaisesRegex(TypeError, 'comparisons.Comparison'):
      claims.assess(self.groups, [('sharpness', 'laplace', 'gaussian', True)])

  def test_table_row_per_claim(self):
    found = claims.assess(self.groups, [self.sharper, self.lower_fd])
    lines = claims.markdown_table(found, {'sharpness': 3}).splitlines()
    # FD means 81.56 and 85.82: -4.26, with an interval half-width of about 7.7 (one decimal).
    self.assertLen(lines, 4)
    self.assertIn('Welch p', lines[0])
    self.assertStartsWith(lines[2], '| sharpness: laplace > gaussian | 5 + 5 | 0.010 [')
    self.assertIn('exact over 252', lines[2])
    self.assertIn('(Holm ', lines[2])
    self.assertStartsWith(lines[3],
                          '| frechet_distance: laplace < gaussian | 5 + 5 | -4.3 [-12.0, 3.5] |')
    self.assertEqual(claims.markdown_table([]), '')


if __name__ == '__main__':
  tf.test.main()
