"""Tests of the metric calibration: rows, shapes and order on a tiny set; averaging; the table."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from spreadtf.data import mnist5k
from spreadtf.evaluation import calibration
from spreadtf.evaluation import features
from spreadtf.evaluation import sample_quality


def _images(num, seed, size=8):
  return np.random.RandomState(seed).uniform(size=(num, size, size, 1)).astype(np.float32)


def _pooling_extractor(name):
  """Features: the 2x2 block means of an 8x8 image (16-d), a fixed map."""
  def pool(images):
    return tf.reshape(tf.nn.avg_pool2d(images, 2, 2, 'VALID'), [tf.shape(images)[0], -1])
  return features.FeatureExtractor(pool, (8, 8, 1), 16, {'kind': name, 'path': None,
                                                          'sha256': None})


class CalibrateTest(tf.test.TestCase, parameterized.TestCase):

  def test_rows_follow_the_defects_with_every_metric_in_every_view(self):
    candidates, reference = _images(40, 0), _images(30, 1)
    labels = np.arange(40) % 10
    extractors = {'a': _pooling_extractor('a'), 'b': _pooling_extractor('b')}
    rows = calibration.calibrate(candidates, labels, reference, extractors, seed=0)
    self.assertEqual([row['name'] for row in rows], [d.name for d in calibration.DEFECTS])
    sizes = {row['name']: row['num'] for row in rows}
    self.assertEqual((sizes['real'], sizes['real, half'], sizes['classes 0-4'],
                      sizes['blur 1'], sizes['uniform noise']), (40, 20, 20, 40, 40))
    for row in rows:
      self.assertEqual(set(row), {'name', 'description', 'num', 'sharpness', 'a', 'b'})
      self.assertEqual(set(row['a']), set(calibration.METRICS))
      self.assertEqual(row['a'], row['b'])   # the same features in both views
      for value in row['a'].values():
        self.assertTrue(np.isfinite(value))
    by_name = {row['name']: row for row in rows}
    self.assertLess(by_name['blur 1']['sharpness'], by_name['real']['sharpness'])
    self.assertEqual(calibration.calibrate(candidates, labels, reference, extractors, seed=0),
                     rows)   # seeded: the same numbers again

  def test_real_row_equals_the_metrics_computed_directly(self):
    candidates, reference = _images(24, 2), _images(24, 3)
    extractor = _pooling_extractor('a')
    rows = calibration.calibrate(candidates, np.arange(24) % 10, reference, {'a': extractor},
                                 seed=3, defects=calibration.DEFECTS[:1])
    direct = sample_quality.sample_quality(extractor(reference), extractor(candidates), seed=3,
                                           kid_subset_size=12)
    self.assertEqual(rows[0]['a'], {m: direct[m] for m in calibration.METRICS})

  def test_labels_must_match(self):
    with self.assertRaisesRegex(ValueError, r'labels must be \[num\] = \[10\]'):
      calibration.calibrate(_images(10, 0), np.zeros(3), _images(10, 1),
                            {'a': _pooling_extractor('a')})


class AverageAndTableTest(tf.test.TestCase):

  def _rows(self, fd, recall):
    return [{'name': 'real', 'description': 'd', 'num': 10, 'sharpness': 0.5,
             'v': {'frechet_distance': fd, 'kid': 0.1, 'precision': 0.9, 'recall': recall}}]

  def test_mean_and_std_over_repeats(self):
    merged = calibration.mean_over_repeats([self._rows(1., 0.5), self._rows(3., 0.7)])
    self.assertEqual(merged[0]['name'], 'real')
    mean, std = merged[0]['v']['frechet_distance']
    self.assertAllClose((mean, std), (2., np.sqrt(2.)))   # sample std of {1, 3}
    self.assertEqual(merged[0]['v']['kid'], (0.1, 0.))
    self.assertEqual(merged[0]['num'], (10., 0.))
    self.assertEqual(calibration.mean_over_repeats([self._rows(1., 0.5)])[0]['v']['recall'],
                     (0.5, 0.))
    with self.assertRaisesRegex(ValueError, 'same rows'):
      other = self._rows(1., 0.5)
      other[0]['name'] = 'blur'
      calibration.mean_over_repeats([self._rows(1., 0.5), other])
    with self.assertRaisesRegex(ValueError, 'no repeats'):
      calibration.mean_over_repeats([])

  def test_table_has_a_line_per_row_and_a_column_per_view_and_metric(self):
    merged = calibration.mean_over_repeats([self._rows(1., 0.5), self._rows(3., 0.7)])
    lines = calibration.markdown_table(merged).splitlines()
    self.assertEqual(lines[0], '| images | n | sharpness | FD (v) | KID (v) | P (v) | R (v) |')
    self.assertEqual(lines[2], '| real | 10 | 0.500 | 2.0 +- 1.4 | 0.100 | 0.90 | 0.60 +- 0.14 |')
    self.assertLen(lines, 3)


class SplitTest(tf.test.TestCase):

  def test_stratified_split_partitions_with_equal_class_shares(self):
    labels = np.repeat(np.arange(10), 30)
    first, rest = calibration.stratified_split(labels, 100, seed=0)
    self.assertLen(first, 100)
    self.assertAllEqual(np.sort(np.concatenate([first, rest])), np.arange(300))
    self.assertAllEqual(np.bincount(labels[first]), [10] * 10)
    self.assertNotAllEqual(first, calibration.stratified_split(labels, 100, seed=1)[0])
    with self.assertRaisesRegex(ValueError, r'num_first must lie in \(0, 300\)'):
      calibration.stratified_split(labels, 300, seed=0)

  def test_held_out_digits_are_never_training_digits(self):
    held_out, labels = calibration.held_out_digits()
    self.assertEqual((held_out.shape, labels.shape), ((1500, 28, 28, 1), (1500,)))
    held_out = held_out.reshape(-1, 784)
    train = mnist5k.load_mnist5k('train')[0].reshape(-1, 784)
    shared = {row.tobytes() for row in held_out} & {row.tobytes() for row in train}
    self.assertEmpty(shared)


if __name__ == '__main__':
  tf.test.main()
