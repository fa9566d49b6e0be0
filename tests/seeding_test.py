"""Tests of named sub-seeds."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from spreadtf import seeding


class SubSeedTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(
      ('model', 0, 'model', 1191314193), ('samples', 0, 'samples', 2139859783),
      ('data_at_step_0', 7, 'data/0', 463778686), ('data_at_step_400', 123, 'data/400', 248070224))
  def test_known_answers_match_the_training_roots_derivation(self, seed, name, expected):
    # The values spreadtf.training.training_run.sub_seed gave when this module was split off, so
    # the training root can switch to it without changing any run.
    self.assertEqual(seeding.sub_seed(seed, name), expected)

  def test_names_and_seeds_give_distinct_seeds_in_range(self):
    names = ['mixing', 'sources', 'noise', 'initial_mixing', 'em', 'fastica']
    seeds = [seeding.sub_seed(seed, name) for seed in range(20) for name in names]
    self.assertLen(set(seeds), len(seeds))
    self.assertTrue(all(isinstance(s, int) and 0 <= s < 2 ** 31 - 1 for s in seeds))
    self.assertEqual(seeding.sub_seed(np.int64(3), 'em'), seeding.sub_seed(3, 'em'))

  @parameterized.named_parameters(('negative', -1, 'em', 'non-negative integer'),
                                  ('float', 1.5, 'em', 'non-negative integer'),
                                  ('bool', True, 'em', 'non-negative integer'),
                                  ('empty_name', 0, '', 'non-empty string'))
  def test_rejects_bad_seed_or_name(self, seed, name, message):
    with self.assertRaisesRegex(ValueError, message):
      seeding.sub_seed(seed, name)


class StatelessSeedTest(tf.test.TestCase):

  def test_is_the_named_sub_seed_and_zero_as_int32(self):
    seed = seeding.stateless_seed(0, 'samples')
    self.assertEqual(seed.dtype, np.int32)
    self.assertEqual(seed.tolist(), [2139859783, 0])  # sub_seed(0, 'samples'), known above.
    # The training root's sample grid and ICA's draws used [sub_seed, 0] before this function:
    # the same stream.
    self.assertAllEqual(tf.random.stateless_normal([3], tf.constant(seed)),
                        tf.random.stateless_normal([3], [seeding.sub_seed(0, 'samples'), 0]))

  def test_rejects_what_sub_seed_rejects(self):
    with self.assertRaisesRegex(ValueError, 'non-negative integer'):
      seeding.stateless_seed(-1, 'em')


if __name__ == '__main__':
  tf.test.main()
