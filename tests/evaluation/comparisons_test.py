"""Tests of the declared-comparison type."""

import dataclasses

import tensorflow as tf

from spreadtf.evaluation import comparisons


class ComparisonTest(tf.test.TestCase):

  def test_holds_its_fields_and_is_frozen_and_hashable(self):
    comparison = comparisons.Comparison('sharpness', 'laplace', 'gaussian', True)
    self.assertEqual((comparison.metric, comparison.first, comparison.second,
                      comparison.higher_is_better), ('sharpness', 'laplace', 'gaussian', True))
    with self.assertRaises(dataclasses.FrozenInstanceError):
      comparison.first = 'other'
    self.assertLen({comparison, comparisons.Comparison('sharpness', 'laplace', 'gaussian',
                                                       True)}, 1)

  def test_refuses_what_cannot_be_a_claim(self):
    with self.assertRaisesRegex(ValueError, 'with itself'):
      comparisons.Comparison('kid', 'laplace', 'laplace', False)
    with self.assertRaisesRegex(ValueError, 'metric must be a non-empty string'):
      comparisons.Comparison('', 'laplace', 'gaussian', False)
    with self.assertRaisesRegex(ValueError, 'second must be a non-empty string'):
      comparisons.Comparison('kid', 'laplace', None, False)
    with self.assertRaisesRegex(ValueError, 'higher_is_better must be True'):
      comparisons.Comparison('kid', 'laplace', 'gaussian', 'lower')


if __name__ == '__main__':
  tf.test.main()
