"""Tests of build_model: variables created, optimizers built and compiled, the model's seed."""

import keras
import tensorflow as tf

from spreadtf import seeding
from spreadtf.training import model_building
from spreadtf.training import spread_learning
from tests import testing


def _model_fn(**overrides):
  def model_fn(seed):
    return testing.make_tiny_model(seed=seed, **overrides)
  return model_fn


class BuildModelTest(tf.test.TestCase):

  def test_an_uncompiled_model_has_its_variables_and_the_named_model_seed(self):
    model = model_building.build_model(_model_fn(), seed=7)
    self.assertNotEmpty(model.trainable_variables)
    self.assertIsNone(getattr(model, 'optimizer', None))
    self.assertEqual(model.seed, seeding.sub_seed(7, 'model'))

  def test_a_training_model_is_compiled_with_built_optimizers(self):
    model = model_building.build_model(
        lambda seed: testing.low_rank_model(seed=seed), seed=0, optimizer_fn=testing.make_adam,
        spread_optimizer_fn=testing.make_spread_adam,
        spread_schedule=spread_learning.SpreadSchedule())
    self.assertIsInstance(model.optimizer, keras.optimizers.Adam)
    # Built: Adam's two moments per trainable variable (plus its counters) exist before any
    # step, so a checkpoint restores them.
    self.assertGreater(len(model.optimizer.variables), 2 * len(model.trainable_variables))
    self.assertGreater(len(model.spread_optimizer.variables),
                       2 * len(model.spread.trainable_variables))

  def test_spread_learning_without_a_learned_spread_is_an_error(self):
    with self.assertRaisesRegex(ValueError, 'no trainable variables'):
      model_building.build_model(_model_fn(), seed=0, optimizer_fn=testing.make_adam,
                                 spread_optimizer_fn=testing.make_spread_adam,
                                 spread_schedule=spread_learning.SpreadSchedule())


if __name__ == '__main__':
  tf.test.main()
