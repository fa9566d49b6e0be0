"""Tests of sample-quality over several generated sets and views: means, spreads, keys."""

import numpy as np
import tensorflow as tf

from spreadtf.evaluation import features
from spreadtf.evaluation import sample_quality
from spreadtf.evaluation import sample_sets


def _extractor(scale):
  """Features: the 2x2 block means of a 4x4 image times `scale` (4-d)."""
  def pool(images):
    return scale * tf.reshape(tf.nn.avg_pool2d(images, 2, 2, 'VALID'), [tf.shape(images)[0], -1])
  return features.FeatureExtractor(pool, (4, 4, 1), 4, {'kind': f'pool x{scale}', 'path': None,
                                                         'sha256': None})


def _images(num, seed):
  return np.random.RandomState(seed).uniform(size=(num, 4, 4, 1)).astype(np.float32)


class MeanOverSetsTest(tf.test.TestCase):

  def test_mean_and_sample_std(self):
    scores = [{'frechet_distance': 1., 'kid': 0.}, {'frechet_distance': 2., 'kid': 0.},
              {'frechet_distance': 6., 'kid': 0.}]
    result = sample_sets.mean_over_sets(scores, keys=('frechet_distance', 'kid'))
    self.assertAllClose(result['frechet_distance'], 3.)
    self.assertAllClose(result['frechet_distance_std_over_sets'], np.sqrt(7.))  # ddof 1
    self.assertEqual(result['kid_std_over_sets'], 0.)
    one = sample_sets.mean_over_sets(scores[:1], keys=('kid',))
    self.assertEqual(one, {'kid': 0.})   # one set: no spread to report
    with self.assertRaisesRegex(ValueError, 'no sets'):
      sample_sets.mean_over_sets([])


class ScoreSampleSetsTest(tf.test.TestCase):

  def test_views_are_prefixed_after_the_first_and_sets_are_independent_draws(self):
    real, reference = _images(40, 0), _images(40, 1)
    sets = {i: _images(40, 10 + i) for i in range(3)}
    calls = []

    def generate_set(i):
      calls.append(i)
      return sets[i]

    views = {'plain': _extractor(1.), 'scaled': _extractor(3.)}
    result = sample_sets.score_sample_sets(real, generate_set, views, num_sets=3, seed=5,
                                           reference_images=reference)
    self.assertEqual(calls, [0, 1, 2])
    for prefix, extractor in (('', views['plain']), ('scaled_', views['scaled'])):
      expected = [sample_sets.score(extractor(real), extractor(sets[j]), 5 + j) for j in range(3)]
      fds = [s['frechet_distance'] for s in expected]
      self.assertAllClose(result[prefix + 'frechet_distance'], np.mean(fds))
      self.assertAllClose(result[prefix + 'frechet_distance_std_over_sets'], np.std(fds, ddof=1))
      reference_scores = sample_sets.score(extractor(reference), extractor(real), 5)
      self.assertEqual(result[prefix + 'real_data_reference'],
                       {k: reference_scores[k] for k in sample_sets.METRICS})
    # Scaling features by 3 scales FD by 9 and leaves precision and recall unchanged.
    self.assertAllClose(result['scaled_frechet_distance'], 9. * result['frechet_distance'])
    self.assertEqual(result['scaled_recall'], result['recall'])
    self.assertEqual((result['num_generated'], result['num_sample_sets']), (40, 3))
    self.assertEqual(result['feature_extractor']['kind'], 'pool x1.0')
    self.assertEqual(list(result['feature_extractors']), ['plain', 'scaled'])
    # Each part of the work is timed once: generation, then each view's features and scores.
    self.assertEqual(list(result['sample_quality_seconds']), ['generation', 'plain', 'scaled'])
    self.assertTrue(all(s > 0. for s in result['sample_quality_seconds'].values()))

  def test_kid_subsets_are_half_of_the_smaller_set(self):
    real, fake = _images(30, 0), _images(50, 1)
    extractor = _extractor(1.)
    expected = sample_quality.sample_quality(extractor(real), extractor(fake), seed=0,
                                             kid_subset_size=15)
    self.assertEqual(sample_sets.score(extractor(real), extractor(fake), 0), expected)

  def test_one_extractor_one_set(self):
    result = sample_sets.score_sample_sets(_images(20, 0), lambda i: _images(20, 1),
                                           _extractor(1.), num_sets=1, seed=0)
    self.assertNotIn('frechet_distance_std_over_sets', result)
    self.assertNotIn('feature_extractors', result)
    self.assertNotIn('real_data_reference', result)
    self.assertEqual(list(result['sample_quality_seconds']), ['generation', 'features'])
    with self.assertRaisesRegex(ValueError, 'num_sets must be >= 1'):
      sample_sets.score_sample_sets(_images(20, 0), None, _extractor(1.), num_sets=0, seed=0)


if __name__ == '__main__':
  tf.test.main()
