"""Tests of the sample-quality metrics against closed forms and independent computations."""

import itertools

from absl.testing import parameterized
import numpy as np
import scipy.linalg
import scipy.spatial.distance
from sklearn import neighbors
import tensorflow as tf

from spreadtf.evaluation import sample_quality


def _correlated_features(seed, num, dim, shift=0.):
  """`[num, dim]` Gaussian features with a random full covariance and mean `shift`."""
  rng = np.random.RandomState(seed)
  mixing = rng.normal(size=(dim, dim))
  return rng.normal(size=(num, dim)) @ mixing + shift


class FrechetDistanceTest(tf.test.TestCase, parameterized.TestCase):

  def test_set_to_itself_is_zero(self):
    features = _correlated_features(0, 500, 16)
    self.assertAllClose(sample_quality.frechet_distance(features, features), 0., atol=1e-8)

  def test_shifted_copy_is_the_squared_shift(self):
    # Equal covariances: FD is exactly ||mu_a - mu_b||^2.
    features = _correlated_features(1, 300, 8)
    shift = np.arange(8) / 4.
    distance = sample_quality.frechet_distance(features, features + shift)
    self.assertGreater(distance, 0.)
    self.assertAllClose(distance, np.sum(shift**2), rtol=1e-9)

  @parameterized.named_parameters(('more_samples_than_dims', 400, 8),
                                  ('few_dims', 50, 2))
  def test_matches_scipy_sqrtm_form(self, num, dim):
    a = _correlated_features(2, num, dim)
    b = _correlated_features(3, num + 7, dim, shift=0.3)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    expected = (np.sum((a.mean(0) - b.mean(0))**2) + np.trace(cov_a) + np.trace(cov_b)
                - 2. * np.trace(scipy.linalg.sqrtm(cov_a @ cov_b).real))
    self.assertAllClose(sample_quality.frechet_distance(a, b), expected, rtol=1e-8)

  def test_is_symmetric(self):
    a, b = _correlated_features(4, 200, 6), _correlated_features(5, 150, 6, shift=1.)
    self.assertAllClose(sample_quality.frechet_distance(a, b),
                        sample_quality.frechet_distance(b, a), rtol=1e-10)

  @parameterized.named_parameters(('shifted_mean', np.full(4, 1.), 1., 4.),
                                  ('scaled', np.zeros(4), 2., 4. * (1. - 2.)**2))
  def test_gaussians_match_closed_form(self, mean, scale, expected):
    # FD(N(0, I), N(mean, scale^2 I)) = ||mean||^2 + dim (1 - scale)^2 in the large-sample limit.
    rng = np.random.RandomState(6)
    a = rng.normal(size=(40000, 4))
    b = mean + scale * rng.normal(size=(40000, 4))
    self.assertAllClose(sample_quality.frechet_distance(a, b), expected, atol=0.1)

  def test_singular_covariances_fewer_samples_than_dims(self):
    # Rank-9 covariances in 50 dims: exact where sqrtm(S_a S_b) is off by 1e-4 (measured).
    features = _correlated_features(7, 10, 50)
    shift = np.linspace(-1., 1., 50)
    self.assertAllClose(sample_quality.frechet_distance(features, features), 0., atol=1e-9)
    self.assertAllClose(sample_quality.frechet_distance(features, features + shift),
                        np.sum(shift**2), rtol=1e-9)

  def test_constant_features_leave_the_distance_exact(self):
    # Dead (constant) features make both covariances singular although num > dim.
    features = _correlated_features(8, 200, 6)
    features[:, 2] = 0.
    shift = np.arange(6.)
    self.assertAllClose(sample_quality.frechet_distance(features, features), 0., atol=1e-9)
    self.assertAllClose(sample_quality.frechet_distance(features, features + shift),
                        np.sum(shift**2), rtol=1e-12)

  @parameterized.named_parameters(
      ('different_dims', np.zeros((5, 3)), np.zeros((5, 4)), 'same feature dimension'),
      ('one_row', np.zeros((1, 3)), np.zeros((5, 3)), 'at least 2 rows'),
      ('not_a_matrix', np.zeros(5), np.zeros((5, 1)), r'\[num, dim\]'),
      ('nan', np.full((5, 3), np.nan), np.zeros((5, 3)), 'NaN'))
  def test_rejects_bad_features(self, a, b, message):
    with self.assertRaisesRegex(ValueError, message):
      sample_quality.frechet_distance(a, b)


def _mmd2_by_pairs(x, y):
  """Unbiased MMD^2 with the cubic kernel written out pair by pair (independent of the library)."""
  m, dim = x.shape

  def kernel(u, v):
    return (np.dot(u, v) / dim + 1.)**3

  same = sum(kernel(x[i], x[j]) + kernel(y[i], y[j])
             for i, j in itertools.permutations(range(m), 2))
  cross = sum(kernel(x[i], y[j]) for i, j in itertools.product(range(m), repeat=2))
  return same / (m * (m - 1)) - 2. * cross / m**2


class KernelInceptionDistanceTest(tf.test.TestCase, parameterized.TestCase):

  def test_matches_pairwise_sum(self):
    rng = np.random.RandomState(0)
    a, b = rng.normal(size=(6, 3)), rng.normal(size=(6, 3)) + 0.5
    # One subset of all 6 rows (a permutation: MMD^2 does not depend on the order); the subset
    # size is clipped from 1,000 to 6.
    mean, std = sample_quality.kernel_inception_distance(a, b, num_subsets=1)
    self.assertAllClose(mean, _mmd2_by_pairs(a, b), rtol=1e-10)
    self.assertEqual(std, 0.)

  def test_matches_population_mmd_in_one_dimension(self):
    # k(x, y) = (xy + 1)^3 has the feature map (x^3, sqrt(3) x^2, sqrt(3) x, 1), so MMD^2 is the
    # squared distance of the first three moments, weighted 1, 3, 3. Between U(-1, 1) and
    # U(-1, 1) + mu: (mu^3 + mu)^2 + 3 mu^4 + 3 mu^2.
    mu, num, num_subsets, subset_size = 0.5, 10000, 20, 1000
    rng = np.random.RandomState(1)
    a = rng.uniform(-1., 1., size=(num, 1))
    b = mu + rng.uniform(-1., 1., size=(num, 1))
    mean, std = sample_quality.kernel_inception_distance(a, b, num_subsets, subset_size)
    expected = (mu**3 + mu)**2 + 3. * mu**4 + 3. * mu**2
    # Three standard errors: subset draws (std / sqrt(num_subsets)) and the finite data
    # (the estimate on all rows varies like std * sqrt(subset_size / num)).
    self.assertAllClose(mean, expected,
                        atol=3. * std * np.sqrt(1. / num_subsets + subset_size / num))
    self.assertLess(std, 0.2 * expected)

  def test_one_distribution_is_zero_within_std(self):
    rng = np.random.RandomState(2)
    a, b = rng.normal(size=(3000, 16)), rng.normal(size=(2500, 16))
    mean, std = sample_quality.kernel_inception_distance(a, b, num_subsets=20, subset_size=500)
    self.assertGreater(std, 0.)
    self.assertLess(abs(mean), std)

  def test_shifted_distribution_is_clearly_positive(self):
    rng = np.random.RandomState(3)
    a, b = rng.normal(size=(3000, 16)), rng.normal(size=(2500, 16)) + 0.5
    mean, std = sample_quality.kernel_inception_distance(a, b, num_subsets=20, subset_size=500)
    self.assertGreater(mean, 10. * std)

  def test_seed_sets_the_subsets(self):
    rng = np.random.RandomState(4)
    a, b = rng.normal(size=(300, 4)), rng.normal(size=(300, 4)) + 0.2

    def kid(seed):
      return sample_quality.kernel_inception_distance(a, b, 5, 100, seed=seed)

    self.assertEqual(kid(0), kid(0))
    self.assertNotEqual(kid(0), kid(1))

  @parameterized.named_parameters(('no_subsets', 0, 10, 'num_subsets'),
                                  ('one_row_subsets', 3, 1, 'subset_size'))
  def test_rejects_bad_arguments(self, num_subsets, subset_size, message):
    with self.assertRaisesRegex(ValueError, message):
      sample_quality.kernel_inception_distance(np.zeros((5, 2)), np.zeros((5, 2)), num_subsets,
                                               subset_size)


def _precision_recall_brute_force(real, fake, k):
  """Precision and recall from sklearn neighbours and scipy cdist (independent of the library)."""
  def radii(x):
    distances, _ = neighbors.NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x)
    return distances[:, k]  # column 0 is the point itself
  cross = scipy.spatial.distance.cdist(fake, real)
  precision = np.mean(np.any(cross <= radii(real)[None, :], axis=1))
  recall = np.mean(np.any(radii(fake)[None, :] >= cross.T, axis=1))
  return precision, recall


class PrecisionRecallTest(tf.test.TestCase, parameterized.TestCase):

  def test_identical_sets_are_one(self):
    features = _correlated_features(0, 400, 8)
    self.assertEqual(sample_quality.precision_recall(features, features), (1., 1.))

  def test_far_disjoint_sets_are_zero(self):
    features = _correlated_features(1, 400, 8)
    self.assertEqual(sample_quality.precision_recall(features, features + 1e3), (0., 0.))

  def test_hand_computed_one_dimensional_case(self):
    # k = 1: real radii are all 1, so 0.5, 2.2 and 3.0 of the fakes are inside (3 / 5). Fake radii
    # are 1.7, 0.8, 0.8, 0.5, 0.5: the balls cover [-1.2, 3.8] and [9.5, 11], so reals 0..3 are
    # inside (4 / 6).
    real = np.arange(6.)[:, None]
    fake = np.array([0.5, 2.2, 3., 10., 10.5])[:, None]
    precision, recall = sample_quality.precision_recall(real, fake, k=1)
    self.assertAllClose((precision, recall), (3. / 5., 4. / 6.))

  @parameterized.named_parameters(('fake_is_half_of_real', True, (1., 0.5)),
                                  ('fake_is_twice_real', False, (0.5, 1.)))
  def test_subset_and_superset(self, fake_is_subset, expected):
    # Two far-apart clusters; a set holding one cluster exactly misses the other one.
    one = _correlated_features(2, 300, 5)
    both = np.concatenate([one, _correlated_features(3, 300, 5, shift=1e3)])
    real, fake = (both, one) if fake_is_subset else (one, both)
    self.assertAllClose(sample_quality.precision_recall(real, fake), expected)

  @parameterized.named_parameters(('k1', 1), ('k3', 3), ('k5', 5))
  def test_matches_brute_force_neighbours(self, k):
    # More rows than one distance block (1,024), so the blocks are stitched together.
    rng = np.random.RandomState(k)
    real = rng.normal(size=(1500, 3))
    fake = 0.8 * rng.normal(size=(1100, 3)) + 0.3
    precision, recall = sample_quality.precision_recall(real, fake, k=k)
    self.assertAllClose((precision, recall), _precision_recall_brute_force(real, fake, k))
    self.assertBetween(precision, 0.5, 1.)
    self.assertBetween(recall, 0.5, 1.)

  def test_duplicates_are_neighbours_at_distance_zero(self):
    # Every real point appears 3 times: with k = 2 their radii are 0 and only exact copies are
    # inside, so the 15 copied fakes are and the 5 moved by 0.1 are not (precision 15 / 20).
    # The copied fakes also have radius 0, the moved ones 0.1: reals 0..4 are inside (15 / 30).
    points = np.arange(10.)[:, None]
    real = np.repeat(points, 3, axis=0)
    fake = np.concatenate([np.repeat(points[:5], 3, axis=0), points[:5] + 0.1])
    self.assertAllClose(sample_quality.precision_recall(real, fake, k=2), (0.75, 0.5))

  @parameterized.named_parameters(('k_zero', 5, 0, 'k must be'),
                                  ('too_few_rows', 3, 3, 'at least 4 rows'))
  def test_rejects_bad_arguments(self, num, k, message):
    with self.assertRaisesRegex(ValueError, message):
      sample_quality.precision_recall(np.zeros((num, 2)), np.zeros((num, 2)), k=k)


class SampleQualityTest(tf.test.TestCase):

  def test_reports_every_metric_as_the_individual_functions_do(self):
    real = _correlated_features(0, 300, 6)
    fake = _correlated_features(1, 200, 6, shift=0.2)
    scores = sample_quality.sample_quality(real, fake, seed=3, kid_subsets=10,
                                           kid_subset_size=100, k=3)
    self.assertEqual(set(scores), {'frechet_distance', 'kid', 'kid_std', 'precision', 'recall',
                                   'num_real', 'num_fake'})
    self.assertEqual(scores['frechet_distance'], sample_quality.frechet_distance(real, fake))
    self.assertEqual((scores['kid'], scores['kid_std']),
                     sample_quality.kernel_inception_distance(real, fake, 10, 100, seed=3))
    self.assertEqual((scores['precision'], scores['recall']),
                     sample_quality.precision_recall(real, fake, k=3))
    self.assertEqual((scores['num_real'], scores['num_fake']), (300, 200))
    for value in scores.values():
      self.assertIn(type(value), (int, float))


if __name__ == '__main__':
  tf.test.main()
