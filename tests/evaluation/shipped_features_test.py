"""Tests of the shipped mnist5k extractors: pinned hashes, refusal of altered files, the views."""

import os
import re
import shutil
from unittest import mock

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from spreadtf.data import mnist5k
from spreadtf.evaluation import calibration
from spreadtf.evaluation import degradations
from spreadtf.evaluation import pinned_weights
from spreadtf.evaluation import sample_quality
from spreadtf.evaluation import shipped_features


class ShippedFilesTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters('classifier', 'autoencoder')
  def test_shipped_file_has_the_pinned_hash_and_is_small(self, view):
    path = shipped_features.weights_path(view)
    self.assertEqual(pinned_weights.file_sha256(path), shipped_features.SHIPPED[view].sha256)
    self.assertLess(os.path.getsize(path), 2 << 20)   # "a few MB at most": under 2 MB each

  @parameterized.parameters('classifier', 'autoencoder')
  def test_an_altered_file_is_refused_before_loading(self, view):
    directory = self.create_tempdir().full_path
    copy = shutil.copy(shipped_features.weights_path(view), directory)
    with open(copy, 'r+b') as f:   # one byte of the weights changed
      f.seek(os.path.getsize(copy) // 2)
      byte = f.read(1)
      f.seek(-1, os.SEEK_CUR)
      f.write(bytes([byte[0] ^ 1]))
    with mock.patch.object(shipped_features, 'WEIGHTS_DIR', directory):
      message = (f'{re.escape(copy)}.*has SHA-256 [0-9a-f]{{64}}, but '
                 f'{shipped_features.SHIPPED[view].sha256} is pinned.*git checkout')
      with self.assertRaisesRegex(pinned_weights.WeightsMismatchError, message):
        shipped_features.load_extractor(view)
      os.remove(copy)
      with self.assertRaisesRegex(pinned_weights.WeightsMismatchError, 'is missing'):
        shipped_features.load_extractor(view)

  def test_unknown_view_is_named(self):
    with self.assertRaisesRegex(ValueError, r"unknown feature view 'pixels'.*autoencoder"):
      shipped_features.load_extractor('pixels')

  def test_shipped_classifier_has_its_pinned_test_accuracy(self):
    model, _ = shipped_features.SHIPPED['classifier'].build()
    model.load_weights(shipped_features.weights_path('classifier'))
    images, labels = mnist5k.load_mnist5k('test')
    accuracy = np.mean(np.argmax(model.predict(images, verbose=0), axis=1) == labels)
    # 1,000 digits: the accuracy is a count / 1,000, recomputed exactly on any CPU up to a digit
    # whose two top logits tie within round-off.
    self.assertAllClose(accuracy, shipped_features.SHIPPED['classifier'].trained['test_accuracy'],
                        atol=1.5e-3)

  def test_descriptions_say_pinned_and_how_they_were_made(self):
    extractors = shipped_features.load_default_extractors()
    self.assertEqual(list(extractors), list(shipped_features.DEFAULT_VIEWS))
    for view, extractor in extractors.items():
      description = extractor.description()
      self.assertEqual((description['kind'], description['view'], description['pinned']),
                       ('shipped', view, True))
      self.assertEqual(description['sha256'], shipped_features.SHIPPED[view].sha256)
      self.assertIn('launch/train_features.py', description['trained_by'])
    self.assertEqual((extractors['classifier'].dim, extractors['autoencoder'].dim), (128, 64))


class BlurSensitiveViewTest(tf.test.TestCase):
  """The autoencoder view scores blurred held-out digits clearly worse than intact ones."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    images, labels = mnist5k.load_mnist5k('test')
    first, rest = calibration.stratified_split(labels, 500, seed=0)
    cls.candidates, cls.reference = images[first], images[rest]
    cls.extractors = shipped_features.load_default_extractors()

  def _scores(self, view, images):
    extractor = self.extractors[view]
    return sample_quality.sample_quality(extractor(self.reference), extractor(images),
                                         kid_subset_size=250)

  def test_blurred_digits_rank_below_real_ones(self):
    real = self._scores('autoencoder', self.candidates)
    blurred = self._scores('autoencoder', degradations.gaussian_blur(self.candidates, 1.))
    # Measured on this draw: FD 1.9 against 9.7, KID -0.007 against 0.145, recall 0.90 against
    # 0.11; over draws of the held-out digits the real row varies by sd 0.1 to 0.3 (FD), 0.005
    # (KID), 0.02 (recall) (docs/sample_quality.md). Each margin is about half its gap, over 10
    # standard deviations from either side, so it holds on any CPU's round-off.
    self.assertGreater(blurred['frechet_distance'], real['frechet_distance'] + 4.)
    self.assertGreater(blurred['kid'], real['kid'] + 0.07)
    self.assertLess(blurred['recall'], real['recall'] - 0.5)

  def test_blur_weighs_more_against_mode_dropping_than_in_the_classifier_view(self):
    labels = mnist5k.load_mnist5k('test')[1]
    half = calibration.stratified_split(labels, 500, seed=0)[0]
    defects = {'real': self.candidates,
               'blurred': degradations.gaussian_blur(self.candidates, 1.),
               'dropped': degradations.keep_classes(self.candidates, labels[half], range(5))}
    weights = {}
    for view in ('classifier', 'autoencoder'):
      fd = {name: self._scores(view, images)['frechet_distance']
            for name, images in defects.items()}
      weights[view] = (fd['blurred'] - fd['real']) / (fd['dropped'] - fd['real'])
    # The FD of blurred digits in units of the FD of losing half the classes (both above the real
    # floor). Measured on three draws: 0.76, 0.76, 0.70 (classifier) against 1.19, 1.17, 1.09
    # (autoencoder): the margin is half the smallest gap.
    self.assertGreater(weights['autoencoder'], weights['classifier'] + 0.2)


if __name__ == '__main__':
  tf.test.main()
