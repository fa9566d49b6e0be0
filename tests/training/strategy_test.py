"""Tests of make_strategy on this CPU-only host."""

from absl.testing import parameterized
import gin
import tensorflow as tf

from spreadtf.training import strategy as strategy_lib


class StrategyTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  @parameterized.named_parameters(('auto', 'auto'), ('one_device', 'one_device'))
  def test_single_device_on_cpu(self, kind):
    strategy = strategy_lib.make_strategy(kind)
    self.assertEqual(strategy.num_replicas_in_sync, 1)
    self.assertTrue(strategy_lib.is_chief(strategy))
    self.assertEqual(strategy_lib.task_id(strategy), (None, 0))

  def test_split_batch_passes_the_global_batch_to_one_replica(self):
    strategy = strategy_lib.make_strategy('one_device')
    batch = tf.reshape(tf.range(12.), [4, 3])
    self.assertIs(strategy_lib.split_batch(strategy, batch), batch)

  def test_rejects_unknown_kind(self):
    with self.assertRaisesRegex(ValueError, 'tpuu'):
      strategy_lib.make_strategy('tpuu')


if __name__ == '__main__':
  tf.test.main()
