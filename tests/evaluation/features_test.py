"""Tests of the feature extractors: every kind of model, content hashes, and the shape errors."""

import hashlib
import os
import re
import shutil

from absl.testing import parameterized
import keras
import numpy as np
import pytest
import tensorflow as tf

from spreadtf.evaluation import feature_classifier
from spreadtf.evaluation import features


def _make_tiny_model(**overrides):
  """A seeded classifier (random weights) on 12x12x1 images with 6 features."""
  config = dict(image_shape=(12, 12, 1), num_classes=3, feature_dim=6)
  config.update(overrides)
  keras.utils.set_random_seed(0)
  return feature_classifier.make_classifier(**config)


def _penultimate(model, images):
  """The `features` layer's output, computed by Keras directly."""
  return keras.Model(model.input, model.get_layer(feature_classifier.FEATURES_LAYER).output)(images)


def _images(num, shape=(12, 12, 1), seed=0):
  return np.random.RandomState(seed).uniform(size=(num,) + shape).astype(np.float32)


class _TwoOutputs(tf.Module):
  """A SavedModel whose serving_default has two outputs, one of them `[batch, 1, 1, 4]`."""

  @tf.function(input_signature=[tf.TensorSpec([None, 5, 5, 2], tf.float32, name='pixels')])
  def serve(self, pixels):
    pooled = tf.reduce_mean(pixels, axis=[1, 2], keepdims=True)
    return {'pooled': tf.concat([pooled, 2. * pooled], axis=-1), 'total': tf.reduce_sum(pixels)}


class FeatureExtractorTest(tf.test.TestCase, parameterized.TestCase):

  def test_saved_model_features_equal_the_keras_penultimate_output(self):
    model = _make_tiny_model()
    path = feature_classifier.export_classifier(model, self.create_tempdir().full_path, 0.875)
    extractor = features.load_feature_extractor(path, batch_size=3)
    images = _images(7)  # batches of 3, 3 and 1
    result = extractor(images)
    self.assertEqual(result.shape, (7, 6))
    self.assertEqual(result.dtype, np.float32)
    self.assertAllClose(result, _penultimate(model, images), atol=1e-6)
    self.assertEqual(extractor.input_shape, (12, 12, 1))
    self.assertEqual(extractor.dim, 6)
    self.assertEqual(extractor.description(), {
        'kind': 'saved_model', 'path': path, 'sha256': features.content_sha256(path),
        'endpoint': 'features', 'output_key': 'features', 'test_accuracy': 0.875,
        'input_shape': [12, 12, 1], 'dim': 6})

  def test_saved_model_logits_equal_the_keras_output(self):
    model = _make_tiny_model()
    path = feature_classifier.export_classifier(model, self.create_tempdir().full_path, 0.5)
    loaded = tf.saved_model.load(path)
    images = _images(4)
    self.assertAllClose(loaded.logits(images)['logits'], model(images), atol=1e-6)
    served = loaded.signatures['serving_default'](images=tf.constant(images))['features']
    self.assertAllClose(served, _penultimate(model, images), atol=1e-6)

  def test_keras_file(self):
    model = _make_tiny_model()
    path = os.path.join(self.create_tempdir().full_path, 'model.keras')
    model.save(path)
    extractor = features.load_feature_extractor(path)
    images = _images(5)
    self.assertAllClose(extractor(images), model(images), atol=1e-6)
    with open(path, 'rb') as f:
      expected_hash = hashlib.sha256(f.read()).hexdigest()
    self.assertEqual(extractor.description(), {
        'kind': 'keras', 'path': path, 'sha256': expected_hash, 'input_shape': [12, 12, 1],
        'dim': 3})

  def test_in_memory_keras_model_flattens_its_output(self):
    inputs = keras.Input((4, 4, 2))
    model = keras.Model(inputs, keras.layers.Conv2D(3, 2, use_bias=False)(inputs))  # [3, 3, 3]
    extractor = features.load_feature_extractor(model)
    images = _images(2, (4, 4, 2))
    self.assertEqual(extractor.dim, 27)
    self.assertAllClose(extractor(images), np.reshape(model(images), (2, 27)), atol=1e-6)
    self.assertIsNone(extractor.description()['path'])

  def test_other_saved_model_uses_serving_default(self):
    module = _TwoOutputs()
    path = self.create_tempdir().full_path
    tf.saved_model.save(module, path, signatures={'serving_default': module.serve})
    with self.assertRaisesRegex(ValueError, r"outputs \['pooled', 'total'\]; pass output_key="):
      features.load_feature_extractor(path)
    with self.assertRaisesRegex(ValueError, "output_key 'mean' is not an output"):
      features.load_feature_extractor(path, output_key='mean')
    extractor = features.load_feature_extractor(path, output_key='pooled')
    images = _images(3, (5, 5, 2))
    means = images.mean(axis=(1, 2))
    self.assertAllClose(extractor(images), np.concatenate([means, 2. * means], axis=1))
    self.assertEqual((extractor.input_shape, extractor.dim), ((5, 5, 2), 4))
    self.assertEqual(extractor.description()['endpoint'], 'serving_default')
    self.assertNotIn('test_accuracy', extractor.description())

  def test_keras_export_saved_model(self):
    model = _make_tiny_model()
    path = self.create_tempdir().full_path
    model.export(path, verbose=False)  # Keras 3 export: a serving_default with one output
    images = _images(4)
    self.assertAllClose(features.load_feature_extractor(path)(images), model(images), atol=1e-6)

  def test_content_hash_is_stable_and_changes_with_the_weights(self):
    model = _make_tiny_model()
    root = self.create_tempdir().full_path
    path = feature_classifier.export_classifier(model, os.path.join(root, 'a'), 0.5)
    first = features.load_feature_extractor(path).description()['sha256']
    self.assertEqual(features.load_feature_extractor(path).description()['sha256'], first)
    copy = shutil.copytree(path, os.path.join(root, 'copy'))
    self.assertEqual(features.content_sha256(copy), first)

    memory_hash = features.load_feature_extractor(model).description()['sha256']
    self.assertEqual(features.load_feature_extractor(model).description()['sha256'], memory_hash)
    kernel = model.get_layer('logits').kernel
    kernel.assign(kernel + 1e-3)
    self.assertNotEqual(features.load_feature_extractor(model).description()['sha256'],
                        memory_hash)
    changed = feature_classifier.export_classifier(model, os.path.join(root, 'b'), 0.5)
    self.assertNotEqual(features.content_sha256(changed), first)

  def test_content_hash_covers_graph_variables_and_assets_only(self):
    root = self.create_tempdir()
    root.create_file('saved_model.pb', 'graph')
    root.create_file('variables/variables.index', 'index')
    hashes = [features.content_sha256(root.full_path)]
    root.create_file('fingerprint.pb', 'random id')  # metadata: not content
    root.create_file('classifier.json', '{}')         # beside the model: not content
    self.assertEqual(features.content_sha256(root.full_path), hashes[0])
    root.create_file('assets/vocabulary.txt', 'a')
    hashes.append(features.content_sha256(root.full_path))
    os.rename(os.path.join(root.full_path, 'assets', 'vocabulary.txt'),
              os.path.join(root.full_path, 'assets', 'words.txt'))
    hashes.append(features.content_sha256(root.full_path))
    root.create_file('variables/variables.index', 'changed')
    hashes.append(features.content_sha256(root.full_path))
    root.create_file('saved_model.pb', 'other graph')
    hashes.append(features.content_sha256(root.full_path))
    self.assertLen(set(hashes), 5)

  def test_shape_mismatch_names_both_shapes(self):
    extractor = features.load_feature_extractor(_make_tiny_model(image_shape=(28, 28, 1)))
    message = r'images of shape \(64, 64, 3\).*takes images of shape \(28, 28, 1\)'
    with self.assertRaisesRegex(ValueError, message):
      features.check_fits(extractor, (64, 64, 3))
    with self.assertRaisesRegex(ValueError, message):
      extractor(np.zeros((2, 64, 64, 3), np.float32))
    with self.assertRaisesRegex(ValueError, message):   # every view of a dict is checked
      features.check_fits({'a': extractor, 'b': extractor}, (64, 64, 3))
    features.check_fits(extractor, (28, 28, 1))
    features.check_fits({'a': extractor}, (28, 28, 1))

  def test_any_size_input_checks_channels_only(self):
    extractor = features.FeatureExtractor(
        lambda images: tf.reduce_mean(images, axis=[1, 2]), (None, None, 3), 3,
        {'kind': 'test', 'path': None, 'sha256': None})
    features.check_fits(extractor, (64, 48, 3))
    with self.assertRaisesRegex(ValueError, r'\(28, 28, 1\).*\(any, any, 3\)'):
      features.check_fits(extractor, (28, 28, 1))
    self.assertEqual(extractor.description()['input_shape'], [None, None, 3])

  @parameterized.named_parameters(('pixels_0_to_255', 255., 0., 'must lie in \\[0, 1\\]'),
                                  ('minus_one_to_one', 2., -1., 'must lie in \\[0, 1\\]'),
                                  ('nan', np.nan, 0., 'NaN'))
  def test_rejects_images_outside_the_unit_range(self, scale, offset, message):
    extractor = features.load_feature_extractor(_make_tiny_model())
    with self.assertRaisesRegex(ValueError, message):
      extractor(_images(2) * scale + offset)

  def test_no_images_give_no_features(self):
    extractor = features.load_feature_extractor(_make_tiny_model())
    self.assertEqual(extractor(np.zeros((0, 12, 12, 1), np.float32)).shape, (0, 3))

  def test_path_that_is_no_model_is_named(self):
    root = self.create_tempdir()
    text = root.create_file('notes.txt', 'not a model').full_path
    empty = root.mkdir('empty').full_path
    with self.assertRaisesRegex(ValueError, f'{re.escape(text)}.*neither a SavedModel'):
      features.load_feature_extractor(text)
    with self.assertRaisesRegex(ValueError, f'{re.escape(empty)}.*without saved_model.pb'):
      features.load_feature_extractor(empty)
    broken = root.create_file('broken.keras', 'not a zip').full_path
    message = f"cannot load the Keras model file '{re.escape(broken)}'"
    with self.assertRaisesRegex(ValueError, message):
      features.load_feature_extractor(broken)
    missing = os.path.join(root.full_path, 'missing')
    with self.assertRaisesRegex(FileNotFoundError, f'{re.escape(missing)}.*does not exist'):
      features.load_feature_extractor(missing)


class InceptionV3Test(tf.test.TestCase):

  def test_missing_weights_are_named(self):
    missing = os.path.join(self.create_tempdir().full_path, 'inception.h5')
    with self.assertRaisesRegex(FileNotFoundError, f'{re.escape(missing)}.*do not exist'):
      features.inception_v3(missing)

  @pytest.mark.slow  # builds InceptionV3 (24M weights): over 10 s on 2 busy cores
  def test_random_weights_give_pool_features_of_any_rgb_size(self):
    extractor = features.inception_v3(None)
    self.assertEqual((extractor.input_shape, extractor.dim), ((None, None, 3), 2048))
    result = extractor(_images(2, (16, 16, 3)))
    self.assertEqual(result.shape, (2, 2048))
    self.assertTrue(np.all(np.isfinite(result)))
    with self.assertRaisesRegex(ValueError, r'\(28, 28, 1\).*\(any, any, 3\)'):
      features.check_fits(extractor, (28, 28, 1))

  @pytest.mark.slow
  def test_weights_file_round_trip_with_resize_and_scaling(self):
    keras.utils.set_random_seed(0)
    reference = keras.applications.InceptionV3(include_top=False, pooling='avg', weights=None,
                                               input_shape=(299, 299, 3))
    path = os.path.join(self.create_tempdir().full_path, 'inception.weights.h5')
    reference.save_weights(path)
    extractor = features.inception_v3(path, batch_size=2)
    images = _images(3, (64, 64, 3))
    expected = reference(tf.image.resize(images, [299, 299]) * 2. - 1., training=False)
    self.assertAllClose(extractor(images), expected, atol=1e-4, rtol=1e-4)
    self.assertEqual(extractor.description()['sha256'], features.content_sha256(path))
    self.assertEqual(extractor.description()['path'], path)


if __name__ == '__main__':
  tf.test.main()
