"""Tests of the training loop: steps per host loop, stopping, hooks and non-finite steps."""

from absl.testing import parameterized
import gin
import keras
import numpy as np
import tensorflow as tf

from spreadtf.data import fake
from spreadtf.training import loop
from tests import testing


def _build(seed=0):
  keras.utils.set_random_seed(seed)
  model = testing.make_tiny_model()
  model(tf.zeros((1,) + testing.IMAGE_SHAPE))
  model.compile(optimizer=testing.make_adam())
  model.optimizer.build(model.trainable_variables)
  return model


def _data(nan_step=None):
  if nan_step is None:
    return fake.make_fake_dataset('train', 4, 0, image_shape=testing.IMAGE_SHAPE, num_examples=16)
  return testing.make_nan_data('train', 4, 0, nan_step=nan_step)


def _train(model, iterator, num_steps, **kwargs):
  config = dict(held_out_dataset=None, num_steps=num_steps, steps_per_epoch=num_steps,
                eval_steps=0, verbose=False)
  config.update(kwargs)
  return loop.train_loop(model, tf.distribute.get_strategy(), iterator, **config)


class LoopFnTest(tf.test.TestCase, parameterized.TestCase):

  def test_runs_the_given_number_of_steps_on_consecutive_batches(self):
    model = _build()
    iterator = iter(tf.data.Dataset.range(100).map(
        lambda i: tf.fill((4,) + testing.IMAGE_SHAPE, tf.cast(i, tf.float32) / 100.)))
    steps = loop.make_loop_fn(tf.distribute.get_strategy(), model.train_step)
    steps(iterator, tf.constant(3))
    steps(iterator, tf.constant(2))
    self.assertEqual(int(model.optimizer.iterations), 5)
    self.assertAllClose(next(iterator)[0, 0, 0, 0], 0.05)
    self.assertEqual(steps.experimental_get_tracing_count(), 1)

  def test_breaks_right_after_a_nonfinite_step_when_guarded(self):
    model = _build()
    iterator = iter(_data(nan_step=2))
    steps = loop.make_loop_fn(tf.distribute.get_strategy(), model.train_step,
                              guard=model.nonfinite_guard)
    steps(iterator, tf.constant(10))
    self.assertEqual(int(model.optimizer.iterations), 3)
    self.assertEqual(model.nonfinite_guard.read(), (1, 2, 'loss'))


class TrainLoopTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  def test_steps_per_loop_does_not_change_the_weights(self):
    weights = []
    for steps_per_loop in (1, 3, 100):
      model = _build()
      result = _train(model, iter(_data()), 8, steps_per_loop=steps_per_loop)
      self.assertEqual(result['steps'], 8)
      weights.append(model.get_weights())
    for other in weights[1:]:
      for first, second in zip(weights[0], other, strict=True):
        self.assertAllClose(first, second, rtol=0., atol=1e-6)

  def test_host_loops_end_at_epoch_ends_and_call_the_loop_hook(self):
    model = _build()
    loop_ends, epoch_ends = [], []
    _train(model, iter(_data()), 7, steps_per_epoch=3, steps_per_loop=2,
           on_loop_end=loop_ends.append,
           on_epoch_end=lambda step, train, test: epoch_ends.append(step))
    self.assertEqual(epoch_ends, [3, 6, 7])
    self.assertEqual(loop_ends, [2, 3, 5, 6])  # Not after the last step.

  def test_epoch_callback_can_stop_training(self):
    model = _build()
    result = _train(model, iter(_data()), 10, steps_per_epoch=2,
                    on_epoch_end=lambda step, train, test: step >= 4)
    self.assertEqual((result['steps'], result['stopped']), (4, True))

  def test_stop_raises_naming_the_step_and_metric(self):
    model = _build()
    with self.assertRaises(loop.DivergedError) as caught:
      _train(model, iter(_data(nan_step=4)), 10, steps_per_loop=10)
    self.assertEqual((caught.exception.step, caught.exception.metric), (4, 'loss'))
    self.assertIn('diverged at step 4: the loss is NaN or Inf', str(caught.exception))
    self.assertEqual(int(model.optimizer.iterations), 5)  # Stopped right after it.
    self.assertTrue(all(np.all(np.isfinite(w)) for w in model.get_weights()))

  def test_skip_step_trains_on(self):
    model = _build()
    result = _train(model, iter(_data(nan_step=4)), 10, steps_per_loop=10,
                    on_nonfinite='skip_step')
    self.assertEqual((result['steps'], result['skipped_steps']), (10, 1))
    self.assertTrue(np.isfinite(result['train']['elbo']))

  @parameterized.named_parameters(
      ('steps', 3, 3), ('fraction_of_an_epoch', 0.5, 2))  # Epochs of 4 steps: 0.5 is 2 steps.
  def test_skip_step_diverges_after_max_consecutive_skipped_steps(self, limit, in_a_row):
    model = _build()
    streak = tf.Variable(0, dtype=tf.int64)
    with self.assertRaises(loop.DivergedError) as caught:
      _train(model, iter(_data(nan_step=list(range(3, 20)))), 20, steps_per_epoch=4,
             steps_per_loop=10, on_nonfinite='skip_step', max_consecutive_skipped=limit,
             skip_streak=streak)
    last = 3 + in_a_row - 1
    self.assertEqual((caught.exception.step, caught.exception.skipped_in_a_row), (last, in_a_row))
    self.assertIn(f'{in_a_row} steps in a row were skipped', str(caught.exception))
    self.assertEqual(int(model.optimizer.iterations), last + 1)  # Stopped right after it.
    self.assertEqual(int(streak.numpy()), in_a_row)

  def test_applied_steps_reset_the_count_and_a_streak_carries_over_resumes(self):
    model = _build()
    streak = tf.Variable(0, dtype=tf.int64)
    nan_steps = [1, 2, 4, 5, 7]  # Never 3 in a row.
    result = _train(model, iter(_data(nan_step=nan_steps)), 8, steps_per_loop=3,
                    on_nonfinite='skip_step', max_consecutive_skipped=3, skip_streak=streak)
    self.assertEqual((result['steps'], result['skipped_steps']), (8, 5))
    self.assertEqual(int(streak.numpy()), 1)  # Step 7 was skipped.
    streak.assign(2)  # As restored from a checkpoint after two skipped steps.
    with self.assertRaises(loop.DivergedError) as caught:
      _train(model, iter(_data(nan_step=[0])), 12, on_nonfinite='skip_step',
             max_consecutive_skipped=3, skip_streak=streak)
    self.assertEqual((caught.exception.step, caught.exception.skipped_in_a_row), (8, 3))

  def test_an_epoch_without_applied_steps_has_no_means(self):
    model = _build()
    result = _train(model, iter(_data(nan_step=[2, 3])), 4, steps_per_epoch=2,
                    on_nonfinite='skip_step')
    self.assertEqual(result['skipped_steps'], 2)
    self.assertEqual(set(result['train'].values()), {None})  # Not 0.0.

  @parameterized.named_parameters(
      ('on_nonfinite', dict(on_nonfinite='warn'), 'on_nonfinite'),
      ('steps_per_loop', dict(steps_per_loop=0), 'steps_per_loop'))
  def test_bad_arguments_are_errors(self, kwargs, message):
    with self.assertRaisesRegex(ValueError, message):
      _train(_build(), iter(_data()), 2, **kwargs)


if __name__ == '__main__':
  tf.test.main()
