"""Tests of the guarded update: non-finite steps are not applied, counted and named."""

from absl.testing import parameterized
import keras
import numpy as np
import tensorflow as tf

from spreadtf import nonfinite_guard


def _setup(initial, optimizer=None, **guard_config):
  variable = tf.Variable(initial, dtype=tf.float32)
  optimizer = optimizer or keras.optimizers.Adam(0.1)
  optimizer.build([variable])
  return variable, optimizer, nonfinite_guard.NonfiniteGuard(**guard_config)


def _step(variable, optimizer, guard, loss_fn):
  with tf.GradientTape() as tape:
    loss = loss_fn(variable)
  gradients = tape.gradient(loss, [variable])
  guard.apply_gradients(optimizer, loss, gradients, [variable])


class NonfiniteGuardTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(('eager', False), ('function', True))
  def test_finite_step_is_applied(self, compiled):
    variable, optimizer, guard = _setup([1., 2.])
    step = tf.function(_step) if compiled else _step
    step(variable, optimizer, guard, lambda v: tf.reduce_sum(v ** 2))
    self.assertNotAllClose(variable, [1., 2.])
    self.assertEqual(int(optimizer.iterations), 1)
    self.assertEqual(guard.read(), (0, -1, None))

  @parameterized.named_parameters(
      ('nan_loss', [1., 2.], lambda v: tf.reduce_sum(v) * np.nan, 'loss'),
      ('inf_loss', [1., 2.], lambda v: tf.reduce_sum(v) + np.inf, 'loss'),
      ('inf_gradient', [0., 1.], lambda v: tf.reduce_sum(tf.sqrt(v)), 'gradient'))
  def test_nonfinite_step_is_not_applied_and_is_counted(self, initial, loss_fn, metric):
    variable, optimizer, guard = _setup(initial)
    step = tf.function(_step)
    step(variable, optimizer, guard, lambda v: tf.reduce_sum(v ** 2))  # Step 0: applied.
    after_good = variable.numpy()
    slots = [v.numpy() for v in optimizer.variables]
    step(variable, optimizer, guard, loss_fn)  # Step 1: not applied.
    self.assertAllEqual(variable, after_good)
    # Adam's moments: untouched.
    for old, new in zip(slots[1:], optimizer.variables[1:], strict=True):
      self.assertAllEqual(old, new)
    self.assertEqual(int(optimizer.iterations), 2)  # The step still counts.
    self.assertEqual(guard.read(), (1, 1, metric))
    step(variable, optimizer, guard, lambda v: tf.reduce_sum(v ** 2))  # Step 2: applied again.
    self.assertNotAllClose(variable, after_good)
    self.assertEqual(guard.read(), (1, 1, metric))

  @parameterized.named_parameters(('sgd_1e30', 1e30), ('sgd_1e3', 1e3))
  def test_an_update_larger_than_the_ratio_times_the_weights_is_undone(self, learning_rate):
    # Loss sum(v), gradient 1 per weight: SGD moves each weight by the learning rate, so the
    # update's norm is 2 * lr against max(||v||, 1) = 5 (v = [3, 4]): ratios 4e29 and 400.
    variable, optimizer, guard = _setup([3., 4.], keras.optimizers.SGD(learning_rate))
    step = tf.function(_step)
    step(variable, optimizer, guard, tf.reduce_sum)
    self.assertAllEqual(variable, [3., 4.])
    self.assertEqual(int(optimizer.iterations), 1)
    self.assertEqual(guard.read(), (1, 0, 'update'))

  def test_an_update_within_the_ratio_is_applied_and_none_applies_any(self):
    variable, optimizer, guard = _setup([3., 4.], keras.optimizers.SGD(10.))  # Ratio 4 < 100.
    tf.function(_step)(variable, optimizer, guard, tf.reduce_sum)
    self.assertAllClose(variable, [-7., -6.])
    variable, optimizer, guard = _setup([3., 4.], keras.optimizers.SGD(1e30),
                                        max_update_ratio=None)
    tf.function(_step)(variable, optimizer, guard, tf.reduce_sum)
    self.assertAllClose(variable, [-1e30, -1e30])
    self.assertEqual(guard.read(), (0, -1, None))

  def test_counters_are_saved_in_a_checkpoint(self):
    variable, optimizer, guard = _setup([1.])
    _step(variable, optimizer, guard, lambda v: v * np.nan)
    path = tf.train.Checkpoint(guard=guard).save(self.create_tempdir().full_path + '/ckpt')
    restored = nonfinite_guard.NonfiniteGuard()
    tf.train.Checkpoint(guard=restored).restore(path).assert_consumed()
    self.assertEqual(restored.read(), (1, 0, 'loss'))


if __name__ == '__main__':
  tf.test.main()
