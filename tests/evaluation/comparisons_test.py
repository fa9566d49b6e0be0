"""Tests of the declared-comparison type and of reading it from a study file."""

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

  def test_describe_says_which_way_is_better(self):
    self.assertEqual(comparisons.Comparison('kid', 'laplace', 'gaussian', False).describe(),
                     'kid: laplace < gaussian (lower is better)')
    self.assertEqual(comparisons.Comparison('sharpness', 'a', 'b', True).describe(),
                     'sharpness: a > b (higher is better)')

  def test_from_dict_needs_exactly_the_fields(self):
    entry = {'metric': 'kid', 'first': 'a', 'second': 'b', 'higher_is_better': False}
    self.assertEqual(comparisons.from_dict(entry), comparisons.Comparison('kid', 'a', 'b', False))
    with self.assertRaisesRegex(ValueError, r"unknown keys \['better'\], missing keys "
                                r"\['higher_is_better'\]"):
      comparisons.from_dict({'metric': 'kid', 'first': 'a', 'second': 'b', 'better': 'lower'})
    with self.assertRaisesRegex(ValueError, 'a comparison is a dict'):
      comparisons.from_dict(('kid', 'a', 'b', False))

  def test_check_names_an_unknown_configuration_or_metric(self):
    declared = [comparisons.Comparison('kid', 'laplace', 'gausian', False)]
    with self.assertRaisesRegex(ValueError, r"configuration 'gausian', which the study does not "
                                r"have; its configurations are \['laplace', 'gaussian'\]"):
      comparisons.check_comparisons(declared, ['laplace', 'gaussian'])
    declared = [comparisons.Comparison('fid', 'laplace', 'gaussian', False)]
    comparisons.check_comparisons(declared, ['laplace', 'gaussian'])   # any metric by default
    with self.assertRaisesRegex(ValueError, r"metric 'fid', which the report does not know"):
      comparisons.check_comparisons(declared, ['laplace', 'gaussian'], metrics=['kid'])


if __name__ == '__main__':
  tf.test.main()
