"""Tests of the verdict rule: the words follow the test, never "holds" without one."""

from absl.testing import parameterized
import tensorflow as tf

from spreadtf.evaluation import verdicts


class VerdictTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(
      ('higher_and_higher_is_better', 0.4, True, 'holds'),
      ('lower_and_lower_is_better', -3.1, False, 'holds'),
      ('lower_but_higher_is_better', -0.4, True, 'reversed'),
      ('higher_but_lower_is_better', 3.1, False, 'reversed'),
  )
  def test_a_significant_difference_holds_or_is_reversed_by_its_sign(self, difference, higher,
                                                                      words):
    text = verdicts.verdict(difference, 0.0031, 1.94, 5, 5, higher)
    self.assertEqual(text, f'{words} (p = 0.0031, g = 1.9, n = 5 + 5)')

  def test_at_or_above_alpha_not_distinguishable_whatever_the_sign(self):
    self.assertEqual(verdicts.verdict(2., 0.41, 0.5, 5, 5, True),
                     'not distinguishable with 5 seeds (p = 0.41)')
    self.assertEqual(verdicts.verdict(-2., 0.05, -0.5, 5, 3, True),
                     'not distinguishable with 5 + 3 seeds (p = 0.05)')
    self.assertStartsWith(verdicts.verdict(2., 0.04, 0.5, 5, 5, True, alpha=0.01),
                          'not distinguishable')

  def test_no_test_no_claim(self):
    self.assertEqual(verdicts.verdict(5., 0.001, 9., 1, 5, True),
                     'not tested (n = 1 + 5: a test needs at least 2 seeds per configuration)')
    self.assertEqual(verdicts.verdict(5., float('nan'), float('nan'), 3, 3, True),
                     'not testable (n = 3 + 3: no seed-to-seed variation)')
    self.assertStartsWith(verdicts.verdict(5., None, 1., 3, 3, True), 'not testable')

  def test_names_the_adjusted_p_and_an_unconfirming_permutation_test(self):
    self.assertEqual(
        verdicts.verdict(1., 0.012, 2.2, 3, 3, True, permutation_p=0.2, p_name='Holm p'),
        'holds (Holm p = 0.012, g = 2.2, n = 3 + 3); the permutation test does not confirm it '
        '(Holm p = 0.2)')
    self.assertEqual(verdicts.verdict(1., 0.012, 2.2, 5, 5, True, permutation_p=0.008),
                     'holds (p = 0.012, g = 2.2, n = 5 + 5)')

  def test_format_p(self):
    self.assertEqual([verdicts.format_p(p) for p in (0.41, 0.0031, 0.05, 0.00099, 1.)],
                     ['0.41', '0.0031', '0.05', '< 0.001', '1'])
    self.assertEqual(verdicts.verdict(1., 1e-6, 3., 5, 5, True),
                     'holds (p < 0.001, g = 3.0, n = 5 + 5)')


if __name__ == '__main__':
  tf.test.main()
