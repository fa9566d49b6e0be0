"""Tests of the run's inputs: training reads the training split and the one held-out split only."""

import functools

from absl.testing import parameterized
import gin
import tensorflow as tf

from spreadtf import seeding
from spreadtf.data import fake
from spreadtf.training import run_inputs
from tests import testing


def _only_train_and_held_out(split, global_batch_size, seed, requested):
  """Fake data that records the splits asked for and refuses any other than the two."""
  requested.append(split)
  if split not in (run_inputs.TRAIN_SPLIT, run_inputs.HELD_OUT_SPLIT):
    raise AssertionError(f'training read the {split!r} split')
  return fake.make_fake_dataset(split, global_batch_size, seed, image_shape=testing.IMAGE_SHAPE,
                                num_examples=16)


class RunInputsTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  @parameterized.named_parameters(
      ('fixed_spread', testing.run, {}, {run_inputs.TRAIN_SPLIT, run_inputs.HELD_OUT_SPLIT}),
      ('learned_spread_probe', testing.run_learned, {},
       {run_inputs.TRAIN_SPLIT, run_inputs.HELD_OUT_SPLIT}),
      ('no_evaluations', testing.run, {'eval_steps': 0}, {run_inputs.TRAIN_SPLIT}))
  def test_a_run_reads_only_the_training_and_held_out_splits(self, run, overrides, expected):
    requested = []
    data_fn = functools.partial(_only_train_and_held_out, requested=requested)
    metrics = run(self.create_tempdir().full_path, num_steps=2, data_fn=data_fn, **overrides)
    self.assertEqual(metrics['status'], 'completed')
    self.assertEqual(set(requested), expected)

  def test_datasets_have_the_run_seeds_and_a_checked_image_shape(self):
    seeds = []

    def data_fn(split, global_batch_size, seed):
      seeds.append((split, seed))
      return fake.make_fake_dataset(split, global_batch_size, seed, image_shape=(4, 4, 1))

    inputs = run_inputs.RunInputs(data_fn, seed=3, global_batch_size=2,
                                  image_shape=testing.IMAGE_SHAPE)
    with self.assertRaisesRegex(ValueError, '4, 4, 1'):
      inputs.train(start_step=5)
    with self.assertRaisesRegex(ValueError, '4, 4, 1'):
      inputs.held_out()
    self.assertEqual(seeds, [(run_inputs.TRAIN_SPLIT, seeding.sub_seed(3, 'data/5')),
                             (run_inputs.HELD_OUT_SPLIT, seeding.sub_seed(3, 'data/0'))])


if __name__ == '__main__':
  tf.test.main()
