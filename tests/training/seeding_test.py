"""Tests of named sub-seeds."""

from absl.testing import parameterized
import tensorflow as tf

from spreadtf.training import seeding


class SubSeedTest(tf.test.TestCase, parameterized.TestCase):

  def test_sub_seeds_are_named_and_deterministic(self):
    self.assertEqual(seeding.sub_seed(3, 'data'), seeding.sub_seed(3, 'data'))
    self.assertNotEqual(seeding.sub_seed(3, 'data'), seeding.sub_seed(3, 'model'))
    self.assertNotEqual(seeding.sub_seed(3, 'data'), seeding.sub_seed(4, 'data'))

  def test_sub_seed_is_a_31_bit_int(self):
    for name in ('data', 'model', 'samples'):
      value = seeding.sub_seed(0, name)
      self.assertIsInstance(value, int)
      self.assertBetween(value, 0, 2 ** 31 - 2)


if __name__ == '__main__':
  tf.test.main()
