"""Tests of the blur-sensitive view's autoencoder: the network, code standardization, training."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from spreadtf.data import mnist5k
from spreadtf.evaluation import feature_autoencoder
from spreadtf.evaluation import pinned_weights
from spreadtf.evaluation import shipped_features


class AutoencoderTest(tf.test.TestCase):

  def test_network_shapes(self):
    autoencoder, encoder = feature_autoencoder.make_autoencoder(code_dim=8)
    images = tf.random.stateless_uniform([2, 28, 28, 1], seed=[0, 0])
    reconstruction = autoencoder(images)
    self.assertEqual(reconstruction.shape, (2, 28, 28, 1))
    self.assertAllInRange(reconstruction, 0., 1.)
    self.assertEqual(encoder(images).shape, (2, 8))
    self.assertEqual(encoder.get_layer(feature_autoencoder.CODE_LAYER).units, 8)
    with self.assertRaisesRegex(ValueError, 'divisible by 4'):
      feature_autoencoder.make_encoder((30, 30, 1))

  def test_standardized_codes_have_mean_zero_and_unit_mean_variance(self):
    keras.utils.set_random_seed(0)
    encoder = feature_autoencoder.make_encoder((8, 8, 1), code_dim=5)
    images = np.random.RandomState(0).uniform(size=(200, 8, 8, 1)).astype(np.float32)
    before = np.asarray(encoder(images), np.float64)
    mean, scale = feature_autoencoder.standardize_codes(encoder, images)
    after = np.asarray(encoder(images), np.float64)
    self.assertAllClose(mean, before.mean(0), atol=1e-6)
    # (code - mu) / s exactly, up to float32 round-off of the rescaled layer.
    self.assertAllClose(after, (before - mean) / scale, atol=1e-5)
    self.assertAllClose(after.mean(0), np.zeros(5), atol=1e-5)
    self.assertAllClose(np.mean(after.var(0)), 1., atol=1e-5)

  def test_tiny_training_writes_json_and_loadable_weights(self):
    out = self.create_tempdir().full_path
    summary = feature_autoencoder.train_feature_autoencoder(out, epochs=1, seed=0, batch_size=50,
                                                            num_train=100)
    with open(os.path.join(out, 'mnist5k_autoencoder.json')) as f:
      self.assertEqual(json.load(f), summary)
    self.assertEqual((summary['num_train'], summary['code_dim'], summary['epochs']), (100, 64, 1))
    self.assertEqual(summary['sha256'], pinned_weights.file_sha256(summary['weights']))
    # One epoch on 100 digits already beats predicting 0.5 everywhere (ln 2 = 0.69 per pixel).
    self.assertLess(summary['test_reconstruction_bce'], np.log(2.))
    extractor = shipped_features.load_extractor('autoencoder', path=summary['weights'])
    self.assertFalse(extractor.description()['pinned'])
    self.assertEqual(extractor.description()['sha256'], summary['sha256'])
    codes = extractor(mnist5k.load_mnist5k('test')[0][:50])
    self.assertEqual(codes.shape, (50, 64))

  @pytest.mark.slow  # 20 epochs on 3,500 digits: about a minute on 2 cores
  def test_full_training_reconstructs_the_test_digits(self):
    summary = feature_autoencoder.train_feature_autoencoder(self.create_tempdir().full_path)
    # The shipped file: 0.0795 nats per pixel; an autoencoder that only drew the mean digit
    # would score about 0.26.
    self.assertLess(summary['test_reconstruction_bce'], 0.09)


if __name__ == '__main__':
  tf.test.main()
