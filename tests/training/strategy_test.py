"""Tests of make_strategy on this CPU-only host."""

import os
from unittest import mock

from absl.testing import parameterized
import gin
import tensorflow as tf

from spreadtf.training import strategy as strategy_lib

# What TensorFlow's TPU resolver reads when --tpu is '' (its Cloud TPU client, TF 2.21).
_TPU_ENVIRONMENT = ('TPU_NAME', 'KUBE_GOOGLE_CLOUD_TPU_ENDPOINTS', 'TPU_CONFIG')
_TPU_ADVICE = ("pass --tpu=NAME (a Cloud TPU's name or its grpc://HOST:8470 address), --tpu=local "
               'on a TPU VM, or set TPU_NAME; without a TPU, use --strategy=auto.')


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

  def _assert_tpu_error(self, tpu, happened):
    with self.assertRaises(RuntimeError) as raised:
      strategy_lib.make_strategy('tpu', tpu=tpu)
    message = str(raised.exception)
    self.assertNotIn('\n', message)
    self.assertStartsWith(message, f'--strategy=tpu found no TPU for --tpu={tpu!r} ({happened}')
    self.assertEndsWith(message, _TPU_ADVICE)

  def test_tpu_without_a_name_says_what_to_pass(self):
    with mock.patch.dict(os.environ):
      for name in _TPU_ENVIRONMENT:
        os.environ.pop(name, None)
      self._assert_tpu_error('', 'ValueError: Please provide a TPU Name to connect to.')

  def test_tpu_name_that_does_not_resolve_says_what_to_pass(self):
    # A Cloud TPU name is looked up through the GCE metadata server; a closed local port makes
    # that fail at once, as it does off Google Cloud (no proxy, so the refusal is the port's).
    with mock.patch.dict(os.environ, GCE_METADATA_HOST='127.0.0.1:1', no_proxy='*'):
      self._assert_tpu_error('my-tpu', 'URLError: <urlopen error')

  def test_tpu_address_that_does_not_answer_says_what_to_pass(self):
    # A grpc:// address skips the lookup; connecting can take minutes to time out, so the public
    # connect call raises what TensorFlow raises for a worker that does not answer.
    unavailable = tf.errors.UnavailableError(None, None, 'failed to connect to all addresses\nmore')
    with mock.patch.object(tf.config, 'experimental_connect_to_cluster', side_effect=unavailable):
      self._assert_tpu_error('grpc://10.0.0.2:8470',
                             'UnavailableError: failed to connect to all addresses)')

  def test_rejects_unknown_kind(self):
    with self.assertRaisesRegex(ValueError, 'tpuu'):
      strategy_lib.make_strategy('tpuu')


if __name__ == '__main__':
  tf.test.main()
