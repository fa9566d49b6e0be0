"""Tests of the mnist5k feature classifier: the network, a tiny training run, and full accuracy."""

import json
import os

from absl.testing import parameterized
import numpy as np
import pytest
import tensorflow as tf

from spreadtf.data import mnist5k
from spreadtf.evaluation import feature_classifier
from spreadtf.evaluation import features


def _train_tiny(out, seed=0):
  """Two epochs on 200 digits: seconds, far from converged."""
  return feature_classifier.train_feature_classifier(out, epochs=2, seed=seed, batch_size=50,
                                             num_train=200)


class ClassifierTest(tf.test.TestCase, parameterized.TestCase):

  def test_network_shapes(self):
    model = feature_classifier.make_classifier(feature_dim=16)
    self.assertEqual(model.output.shape, (None, 10))
    self.assertEqual(model.get_layer(feature_classifier.FEATURES_LAYER).output.shape, (None, 16))
    self.assertEqual(model(tf.zeros([2, 28, 28, 1])).shape, (2, 10))

  def test_tiny_training_writes_json_and_a_loadable_saved_model(self):
    out = os.path.join(self.create_tempdir().full_path, 'features')
    summary = _train_tiny(out)
    with open(os.path.join(out, 'classifier.json')) as f:
      self.assertEqual(json.load(f), summary)
    self.assertEqual((summary['num_train'], summary['num_test'], summary['epochs'],
                      summary['seed'], summary['feature_dim']), (200, 1000, 2, 0, 128))
    self.assertGreater(summary['train_seconds'], 0.)

    extractor = features.load_feature_extractor(out)
    self.assertEqual(extractor.description()['test_accuracy'], summary['test_accuracy'])
    self.assertEqual((extractor.input_shape, extractor.dim), (mnist5k.IMAGE_SHAPE, 128))
    # The stored accuracy is that of the exported logits on the 1,000 test digits, recomputed.
    images, labels = mnist5k.load_mnist5k('test')
    loaded = tf.saved_model.load(out)
    predictions = np.argmax(loaded.logits(images)['logits'], axis=1)
    self.assertAllClose(np.mean(predictions == labels), summary['test_accuracy'])
    self.assertGreater(summary['test_accuracy'], 0.3)  # 2 epochs on 200 digits beat chance (0.1)

  @pytest.mark.slow
  def test_same_seed_gives_the_same_model(self):
    root = self.create_tempdir().full_path
    images = mnist5k.load_mnist5k('test')[0][:20]
    runs = [features.load_feature_extractor(
        _train_tiny(os.path.join(root, str(i)), seed=seed)['saved_model'])(images)
            for i, seed in enumerate((0, 0, 1))]
    # Equal up to round-off of threaded reductions (bit-equal with op determinism, as the
    # launcher sets it).
    self.assertAllClose(runs[0], runs[1], atol=1e-6, rtol=1e-6)
    self.assertNotAllClose(runs[0], runs[2], atol=1e-2)

  @pytest.mark.slow
  def test_full_training_reaches_97_percent(self):
    summary = feature_classifier.train_feature_classifier(self.create_tempdir().full_path, seed=0)
    self.assertGreaterEqual(summary['test_accuracy'], 0.97)


if __name__ == '__main__':
  tf.test.main()
