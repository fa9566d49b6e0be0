"""launch/train_features.py end to end: smoke runs write weights the evaluation can load."""

import json
import os
import subprocess
import sys

from absl.testing import parameterized
import pytest
import tensorflow as tf

from spreadtf.evaluation import pinned_weights
from spreadtf.evaluation import shipped_features

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _train(out, extractor, seed):
  return subprocess.run(
      [sys.executable, os.path.join(_REPO, 'launch', 'train_features.py'), f'--out={out}',
       f'--extractor={extractor}', '--epochs=1', f'--seed={seed}', '--num_train=100'],
      capture_output=True, text=True, timeout=300, check=False,
      env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3'))


class TrainFeaturesTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(('classifier', 'mnist5k_classifier', 'feature_dim', 128),
                            ('autoencoder', 'mnist5k_autoencoder', 'code_dim', 64))
  @pytest.mark.slow  # fresh TensorFlow processes: over 10 s each on 2 busy cores
  def test_smoke_runs_print_the_hash_and_repeat_byte_for_byte(self, extractor, name, dim_key,
                                                              dim):
    root = self.create_tempdir().full_path
    summaries = []
    for run, seed in (('a', 3), ('b', 3), ('c', 4)):
      out = os.path.join(root, run)
      result = _train(out, extractor, seed)
      self.assertEqual(result.returncode, 0, result.stderr[-3000:])
      with open(os.path.join(out, f'{name}.json')) as f:
        summaries.append(json.load(f))
      self.assertIn(f"SHA-256 {summaries[-1]['sha256']}, not the shipped file", result.stdout)
    first = summaries[0]
    self.assertEqual((first['epochs'], first['seed'], first['num_train'], first[dim_key]),
                     (1, 3, 100, dim))
    self.assertEqual(first['sha256'], pinned_weights.file_sha256(first['weights']))
    # Op determinism (the launcher turns it on): the same seed writes the same bytes.
    self.assertEqual(summaries[1]['sha256'], first['sha256'])
    self.assertNotEqual(summaries[2]['sha256'], first['sha256'])
    description = shipped_features.load_extractor(extractor, path=first['weights']).description()
    self.assertEqual((description['dim'], description['pinned']), (dim, False))


if __name__ == '__main__':
  tf.test.main()
