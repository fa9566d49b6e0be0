"""Sample-quality metrics between real and generated images, computed on their features.

All four metrics compare two sets of feature vectors, `[num, dim]` each (see
`spreadtf.evaluation.features` for the extractors), in float64 NumPy:

  * `frechet_distance`: the Frechet distance between Gaussians fitted to the two sets (FID when
    the features are InceptionV3 pool features). 0 for identical sets, ||mu_a - mu_b||^2 for a
    shifted copy.
  * `kernel_inception_distance` (KID): the unbiased estimate of MMD^2 with the cubic polynomial
    kernel k(x, y) = (x.y / dim + 1)^3, averaged over random subsets; its expectation is 0 when
    both sets come from one distribution, and it has no bias for small sets, unlike FD.
  * `precision_recall`: improved precision and recall (k-nearest-neighbour manifolds). Precision
    is the fraction of generated samples inside the manifold of the real ones (quality), recall
    the fraction of real samples inside the manifold of the generated ones (coverage).
  * `sample_quality`: all of the above in one dict.

Numbers are comparable only when computed with the same extractor, the same real set and the same
number of samples (FD is biased upwards for small sets).

    fake = extractor(generated_images)      # [num_fake, dim]
    real = extractor(test_images)           # [num_real, dim]
    scores = sample_quality.sample_quality(real, fake, seed=0)
    scores['frechet_distance'], scores['kid'], scores['precision'], scores['recall']

#### References

[1] Martin Heusel, Hubert Ramsauer, Thomas Unterthiner, Bernhard Nessler, Sepp Hochreiter. GANs
    Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium. NeurIPS 2017.
    https://arxiv.org/abs/1706.08500
[2] Mikolaj Binkowski, Danica J. Sutherland, Michael Arbel, Arthur Gretton. Demystifying MMD
    GANs. ICLR 2018. https://arxiv.org/abs/1801.01401
[3] Tuomas Kynkaanniemi, Tero Karras, Samuli Laine, Jaakko Lehtinen, Timo Aila. Improved
    Precision and Recall Metric for Assessing Generative Models. NeurIPS 2019.
    https://arxiv.org/abs/1904.06991
"""

import numpy as np

__all__ = ['frechet_distance', 'kernel_inception_distance', 'precision_recall', 'sample_quality']

# Rows of a pairwise-distance block: 1,024 x 10,000 float64 distances are 82 MB.
_DISTANCE_BATCH = 1024


def _as_features(features, name, min_rows):
  """`features` as float64 `[num, dim]`, checked to be finite with at least `min_rows` rows."""
  features = np.asarray(features, dtype=np.float64)
  if features.ndim != 2:
    raise ValueError(f'{name} must be a [num, dim] array, got shape {features.shape}.')
  if features.shape[0] < min_rows:
    raise ValueError(f'{name} needs at least {min_rows} rows, got {features.shape[0]}.')
  if not np.all(np.isfinite(features)):
    raise ValueError(f'{name} holds NaN or inf (e.g. from a diverged generator); the metrics are '
                     'undefined.')
  return features


def _check_same_dim(a, b, names):
  if a.shape[1] != b.shape[1]:
    raise ValueError(f'{names[0]} and {names[1]} must have the same feature dimension, got '
                     f'{a.shape[1]} and {b.shape[1]}.')


def _covariance_factor(features):
  """R `[min(num, dim), dim]` with R^T R = the unbiased covariance of `features` `[num, dim]`.

  The Cholesky factor of the covariance when it is positive definite; otherwise (fewer samples
  than dimensions, constant features) the triangular factor of the QR decomposition of the
  centred features, which has the exact rank. Either is backward stable, and no square root of a
  round-off eigenvalue enters the trace term.
  """
  num, dim = features.shape
  centred = features - features.mean(0)
  if num > dim:
    try:
      return np.linalg.cholesky(centred.T @ centred / (num - 1.)).T
    except np.linalg.LinAlgError:
      pass  # singular: the exact-rank factor below
  return np.linalg.qr(centred, mode='r') / np.sqrt(num - 1.)


def frechet_distance(features_a, features_b):
  """Frechet distance between Gaussians fitted to two feature sets (FID on Inception features).

  With means mu and covariances S (unbiased, divisor num - 1) of each set,

      FD = ||mu_a - mu_b||^2 + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^1/2).

  The last trace is computed without a matrix square root: with S = R^T R (R the Cholesky factor
  of S, or for a singular S the triangular QR factor of the centred features, `[min(num, dim),
  dim]`), S_a S_b has the eigenvalues of (R_a R_b^T)(R_a R_b^T)^T, so tr((S_a S_b)^1/2) =
  tr((S_a^1/2 S_b S_a^1/2)^1/2) is the sum of the singular values of R_a R_b^T. Unlike
  `scipy.linalg.sqrtm(S_a @ S_b)` this has no complex round-off parts, and unlike an `eigh` square
  root of S_a it adds no sqrt(round-off) from the zero eigenvalues of singular covariances (fewer
  samples than dimensions, dead features): FD of a set to itself is 0 and to a shifted copy
  ||shift||^2 up to float64 round-off even then. Symmetric in its arguments; never negative
  (round-off below 0 is returned as 0). The cost is dominated by an SVD of a `[dim, dim]` matrix
  (docs/results.md, "Evaluation costs").

  Args:
    features_a: `[num_a, dim]` features, num_a >= 2.
    features_b: `[num_b, dim]` features, num_b >= 2.

  Returns:
    The distance as a Python float.

  Raises:
    ValueError: if an input is not `[num >= 2, dim]`, the dims differ, or a value is not finite.
  """
  a = _as_features(features_a, 'features_a', 2)
  b = _as_features(features_b, 'features_b', 2)
  _check_same_dim(a, b, ('features_a', 'features_b'))
  factor_a, factor_b = _covariance_factor(a), _covariance_factor(b)
  trace_sqrt = np.sum(np.linalg.svd(factor_a @ factor_b.T, compute_uv=False))
  distance = (np.sum((a.mean(0) - b.mean(0))**2) + np.sum(factor_a**2) + np.sum(factor_b**2)
              - 2. * trace_sqrt)
  return float(max(distance, 0.))


def _cubic_kernel(x, y, dim):
  """`[len(x), len(y)]` values of (x.y / dim + 1)^3 (products: NumPy's `**3` calls pow)."""
  gram = x @ y.T
  gram /= dim
  gram += 1.
  return gram * gram * gram


def _unbiased_mmd2(x, y):
  """Unbiased MMD^2 between equal-size sets `[m, dim]` with k(x, y) = (x.y / dim + 1)^3."""
  m, dim = x.shape
  k_xx, k_yy, k_xy = (_cubic_kernel(u, v, dim) for u, v in ((x, x), (y, y), (x, y)))
  within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
  return within - 2. * k_xy.sum() / (m * m)


def kernel_inception_distance(features_a, features_b, num_subsets=100, subset_size=1000,
                              seed=0):
  """KID: the unbiased MMD^2 with the cubic polynomial kernel, over random subsets.

  For each of `num_subsets` subsets, `m = min(subset_size, num_a, num_b)` rows are drawn without
  replacement from each set (`numpy.random.RandomState(seed)`: a-rows then b-rows per subset, as
  in the reference code of [2]), and

      MMD^2_u = sum_{i != j} [k(a_i, a_j) + k(b_i, b_j)] / (m (m - 1))
                - 2 sum_{i, j} k(a_i, b_j) / m^2,      k(x, y) = (x.y / dim + 1)^3.

  Each subset estimate is unbiased, so it can be negative; the mean is not clipped. The kernel
  suits features of order 1 per dimension (Inception pool features, the mnist5k classifier's
  features): for features in the hundreds (e.g. pixel sums) the kernel values reach 1e15 and the
  unbiased estimate of small sets swings by as much (24 images whose features are pixel sums near
  400 gave -1.7e12), although the arithmetic itself stays accurate.

  Args:
    features_a: `[num_a, dim]` features, num_a >= 2.
    features_b: `[num_b, dim]` features, num_b >= 2.
    num_subsets: number of subsets, >= 1.
    subset_size: rows per subset and set, >= 2; clipped to the smaller set size.
    seed: seed of the subset draws.

  Returns:
    `(mean, std)` of the subset estimates as Python floats; `std` is their standard deviation
    (divisor num_subsets, as in [2]'s code), the spread of one subset estimate, not the standard
    error of the mean. It is 0 with `num_subsets=1`, and also when both sets have at most
    `subset_size` rows: every subset is then a whole set and gives the same value (e.g. 1,000
    generated against the 1,000 mnist5k test digits); use a smaller `subset_size` (half the
    smaller set) to see the spread.

  Raises:
    ValueError: on bad shapes, non-finite values, `num_subsets < 1` or `subset_size < 2`.
  """
  a = _as_features(features_a, 'features_a', 2)
  b = _as_features(features_b, 'features_b', 2)
  _check_same_dim(a, b, ('features_a', 'features_b'))
  if num_subsets < 1:
    raise ValueError(f'num_subsets must be >= 1, got {num_subsets}.')
  if subset_size < 2:
    raise ValueError(f'subset_size must be >= 2, got {subset_size}.')
  m = min(subset_size, a.shape[0], b.shape[0])
  rng = np.random.RandomState(seed)
  estimates = []
  for _ in range(num_subsets):
    rows_a = rng.choice(a.shape[0], m, replace=False)
    rows_b = rng.choice(b.shape[0], m, replace=False)
    estimates.append(_unbiased_mmd2(a[rows_a], b[rows_b]))
  return float(np.mean(estimates)), float(np.std(estimates))


def _squared_distances(x, y, x_norms, y_norms):
  """`[len(x), len(y)]` squared Euclidean distances, round-off negatives set to 0 (in place)."""
  distances = x @ y.T
  distances *= -2.
  distances += x_norms[:, None]
  distances += y_norms[None, :]
  return np.maximum(distances, 0., out=distances)


def _knn_radii(features, norms, k):
  """Squared distance of each row to its k-th nearest other row, `[num]`."""
  num = features.shape[0]
  radii = np.empty(num)
  for start in range(0, num, _DISTANCE_BATCH):
    stop = min(start + _DISTANCE_BATCH, num)
    block = _squared_distances(features[start:stop], features, norms[start:stop], norms)
    block[np.arange(stop - start), np.arange(start, stop)] = np.inf  # exclude the row itself
    radii[start:stop] = np.partition(block, k - 1, axis=1)[:, k - 1]
  return radii


def _fraction_inside(queries, query_norms, centres, centre_norms, radii):
  """Fraction of `queries` within the squared radius of at least one of `centres`."""
  inside = 0
  for start in range(0, queries.shape[0], _DISTANCE_BATCH):
    stop = min(start + _DISTANCE_BATCH, queries.shape[0])
    block = _squared_distances(queries[start:stop], centres, query_norms[start:stop],
                               centre_norms)
    inside += np.count_nonzero(np.any(block <= radii[None, :], axis=1))
  return inside / queries.shape[0]


def precision_recall(real_features, fake_features, k=3):
  """Improved precision and recall of Kynkaanniemi et al. 2019 [3].

  Each set's manifold is the union of balls around its samples, each with the radius of the
  distance to that sample's k-th nearest neighbour in the same set (the sample itself excluded;
  duplicates count as neighbours at distance 0). A point is inside when it lies within (<=) at
  least one ball. Then

      precision = fraction of fake samples inside the real manifold,
      recall    = fraction of real samples inside the fake manifold.

  Read precision together with recall and FD: samples that collapse into a small region near a
  few real outliers (whose balls are large) are all "inside". Uniform noise images score
  precision 1.0 and recall 0.0 in the mnist5k classifier's features (docs/sample_quality.md).

  Distances are Euclidean, in float64, computed in blocks of 1,024 rows, so memory grows with
  1,024 x max(num_real, num_fake) (two blocks of 82 MB for 10,000 samples), never with
  num_real x num_fake.

  Args:
    real_features: `[num_real, dim]`, num_real > k.
    fake_features: `[num_fake, dim]`, num_fake > k.
    k: the neighbour that sets the radii, >= 1 (3 as in [3]).

  Returns:
    `(precision, recall)` as Python floats in [0, 1].

  Raises:
    ValueError: on bad shapes, non-finite values or `k < 1`.
  """
  if k < 1:
    raise ValueError(f'k must be >= 1, got {k}.')
  real = _as_features(real_features, 'real_features', k + 1)
  fake = _as_features(fake_features, 'fake_features', k + 1)
  _check_same_dim(real, fake, ('real_features', 'fake_features'))
  real_norms, fake_norms = np.sum(real**2, axis=1), np.sum(fake**2, axis=1)
  real_radii = _knn_radii(real, real_norms, k)
  fake_radii = _knn_radii(fake, fake_norms, k)
  precision = _fraction_inside(fake, fake_norms, real, real_norms, real_radii)
  recall = _fraction_inside(real, real_norms, fake, fake_norms, fake_radii)
  return float(precision), float(recall)


def sample_quality(real_features, fake_features, seed=0, kid_subsets=100, kid_subset_size=1000,
                   k=3):
  """All sample-quality metrics between real and generated (fake) features.

  Args:
    real_features: `[num_real, dim]` features of held-out real images.
    fake_features: `[num_fake, dim]` features of generated images x = g(z).
    seed: seed of the KID subsets.
    kid_subsets: number of KID subsets.
    kid_subset_size: rows per KID subset (clipped to the smaller set).
    k: the neighbour of precision and recall.

  Returns:
    A JSON-ready dict of Python numbers: `frechet_distance`, `kid`, `kid_std`, `precision`,
    `recall`, `num_real`, `num_fake`.

  Raises:
    ValueError: as the individual metrics.
  """
  real = _as_features(real_features, 'real_features', max(2, k + 1))
  fake = _as_features(fake_features, 'fake_features', max(2, k + 1))
  _check_same_dim(real, fake, ('real_features', 'fake_features'))
  kid, kid_std = kernel_inception_distance(real, fake, num_subsets=kid_subsets,
                                           subset_size=kid_subset_size, seed=seed)
  precision, recall = precision_recall(real, fake, k=k)
  return {
      'frechet_distance': frechet_distance(real, fake),
      'kid': kid,
      'kid_std': kid_std,
      'precision': precision,
      'recall': recall,
      'num_real': int(real.shape[0]),
      'num_fake': int(fake.shape[0]),
  }
