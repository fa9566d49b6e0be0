"""Training reads only 'train' and 'validation': the test split is left for the reported numbers.

Issue 16: early stopping, the best checkpoint, the spread probe batch and the held-out curves
select on 'validation'; only the evaluation (`launch/evaluate.py`) reads 'test'.
"""

import os

from absl.testing import parameterized
import tensorflow as tf

from spreadtf.data import fake
from tests import testing


class _TestSplitRead(AssertionError):
  """Raised by the data function below when anything asks it for the test split."""


def _data_without_test(reads):
  """A data function that records the splits it is asked for and refuses 'test'."""

  def data_fn(split, global_batch_size, seed, repeat=True):
    reads.append(split)
    if split == 'test':
      raise _TestSplitRead('training asked the data function for the test split')
    return fake.make_fake_dataset(split, global_batch_size, seed,
                                  image_shape=testing.IMAGE_SHAPE, num_examples=16,
                                  repeat=repeat)

  return data_fn


class HeldOutSplitTest(tf.test.TestCase, parameterized.TestCase):

  def test_training_completes_when_the_test_split_raises(self):
    reads = []
    workdir = self.create_tempdir().full_path
    # A learned spread (a probe batch and spread phases), evaluations every 2 steps with early
    # stopping and the best checkpoint, and the export: every path that reads held-out data.
    metrics = testing.run_learned(workdir, num_steps=4, data_fn=_data_without_test(reads),
                                  stop_after_stalled_evals=5, export=True)
    self.assertIn(metrics['status'], ('completed', 'early_stopped'))
    self.assertEqual(metrics['steps'], 4)
    self.assertNotIn('test', reads)
    self.assertIn('validation', reads)   # evaluation and the probe batch still happen
    self.assertNotEmpty(tf.io.gfile.glob(os.path.join(workdir, 'checkpoints', 'best', 'ckpt-*')))


if __name__ == '__main__':
  tf.test.main()
