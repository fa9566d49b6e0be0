"""Tests of the SIGTERM handlers: after a notice, a check saves at the current step and stops."""

import os
import signal
import threading
import time

from absl.testing import parameterized
import tensorflow as tf

from spreadtf.training import preemption


def _sigterm_self():
  os.kill(os.getpid(), signal.SIGTERM)
  time.sleep(0.05)  # The Python-level handler runs in the main thread at the next check.


class PreemptionTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self.saved = []
    counter = tf.Variable(0)
    self.manager = tf.train.CheckpointManager(tf.train.Checkpoint(counter=counter),
                                              self.create_tempdir().full_path, max_to_keep=2)
    self.previous = signal.getsignal(signal.SIGTERM)

  def _make(self, use_tensorflow):
    handler = preemption.make_handler(tf.distribute.get_strategy(), self.manager,
                                      self.saved.append, use_tensorflow=use_tensorflow)
    self.addCleanup(handler.close)
    return handler

  @parameterized.named_parameters(('tensorflow', True, preemption.TensorFlowHandler),
                                  ('signal', False, preemption.SignalHandler))
  def test_sigterm_saves_at_a_later_check_and_raises(self, use_tensorflow, kind):
    handler = self._make(use_tensorflow)
    self.assertIsInstance(handler, kind)
    handler.check(1)
    handler.check(2)
    self.assertEqual(self.saved, [])
    _sigterm_self()
    with self.assertRaises(preemption.Preempted) as caught:
      for step in range(3, 10):  # TensorFlow's handler saves one check after the notice.
        handler.check(step)
    self.assertEqual(self.saved, [caught.exception.step])
    self.assertIn(caught.exception.step, (3, 4))
    self.assertIn(f'saved a checkpoint at step {caught.exception.step}', str(caught.exception))

  @parameterized.named_parameters(('tensorflow', True), ('signal', False))
  def test_close_restores_the_previous_sigterm_handler(self, use_tensorflow):
    handler = self._make(use_tensorflow)
    self.assertIsNot(signal.getsignal(signal.SIGTERM), self.previous)
    handler.close()
    self.assertIs(signal.getsignal(signal.SIGTERM), self.previous)

  def test_off_the_main_thread_there_is_no_handler(self):
    made = []
    thread = threading.Thread(target=lambda: made.append(self._make(None)))
    thread.start()
    thread.join()
    made[0].check(5)
    self.assertIs(signal.getsignal(signal.SIGTERM), self.previous)
    self.assertEqual(self.saved, [])


if __name__ == '__main__':
  tf.test.main()
