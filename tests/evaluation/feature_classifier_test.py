"""Tests of the mnist5k feature classifier: the network, a tiny training run, and full accuracy."""

import json
import os

from absl.testing import parameterized
import numpy as np
import pytest
import tensorflow as tf

from spreadtf.data import mnist5k
from spreadtf.evaluation import feature_classifier
from spreadtf.evaluation import pinned_weights
from spreadtf.evaluation import shipped_features


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

  def test_tiny_training_writes_json_and_loadable_weights(self):
    out = os.path.join(self.create_tempdir().full_path, 'features')
    summary = _train_tiny(out)
    with open(os.path.join(out, 'mnist5k_classifier.json')) as f:
      self.assertEqual(json.load(f), summary)
    self.assertEqual((summary['num_train'], summary['num_test'], summary['epochs'],
                      summary['seed'], summary['feature_dim']), (200, 1000, 2, 0, 128))
    self.assertGreater(summary['train_seconds'], 0.)
    self.assertEqual(summary['sha256'], pinned_weights.file_sha256(summary['weights']))

    extractor = shipped_features.load_extractor('classifier', path=summary['weights'])
    self.assertEqual((extractor.input_shape, extractor.dim), (mnist5k.IMAGE_SHAPE, 128))
    self.assertEqual(extractor.description()['sha256'], summary['sha256'])
    # The stored accuracy is that of the written weights on the 1,000 test digits, recomputed.
    model = feature_classifier.make_classifier()
    model.load_weights(summary['weights'])
    images, labels = mnist5k.load_mnist5k('test')
    predictions = np.argmax(model.predict(images, verbose=0), axis=1)
    self.assertAllClose(np.mean(predictions == labels), summary['test_accuracy'])
    self.assertGreater(summary['test_accuracy'], 0.3)  # 2 epochs on 200 digits beat chance (0.1)
    self.assertAllClose(extractor(images[:5]),
                        feature_classifier.features_model(model)(images[:5]), atol=1e-6)

  @pytest.mark.slow
  def test_full_training_reaches_97_percent(self):  # the shipped file: 98.1%
    summary = feature_classifier.train_feature_classifier(self.create_tempdir().full_path, seed=0)
    self.assertGreaterEqual(summary['test_accuracy'], 0.97)


if __name__ == '__main__':
  tf.test.main()
