"""launch/train_features.py end to end: a smoke run writes a SavedModel the evaluation can load."""

import json
import os
import subprocess
import sys

from absl.testing import parameterized
import pytest
import tensorflow as tf

from spreadtf.evaluation import features

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class TrainFeaturesTest(tf.test.TestCase, parameterized.TestCase):

  @pytest.mark.slow  # a fresh TensorFlow process: over 10 s on 2 busy cores
  def test_smoke_run_prints_accuracy_and_writes_the_extractor(self):
    out = os.path.join(self.create_tempdir().full_path, 'mnist5k')
    result = subprocess.run(
        [sys.executable, os.path.join(_REPO, 'launch', 'train_features.py'), f'--out={out}',
         '--epochs=1', '--seed=3', '--num_train=100'],
        capture_output=True, text=True, timeout=300, check=False,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3'))
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    with open(os.path.join(out, 'classifier.json')) as f:
      summary = json.load(f)
    self.assertEqual((summary['epochs'], summary['seed'], summary['num_train']), (1, 3, 100))
    self.assertIn(f"test accuracy {summary['test_accuracy']:.4f} on 1000", result.stdout)
    description = features.load_feature_extractor(out).description()
    self.assertEqual(description['test_accuracy'], summary['test_accuracy'])
    self.assertEqual(description['dim'], 128)


if __name__ == '__main__':
  tf.test.main()
