"""Sample-quality metrics over several sets of generated images and several feature views.

One set of 1,000 generated images gives a noisy score: two draws of latent codes from one mnist5k
model differ in FD by a standard deviation of about 2 to 5, more than the seed-to-seed standard
error of a configuration. `score_sample_sets` therefore scores `num_sets` independent sets (the
paper averaged its FIDs over 5) in every feature view and reports each metric's mean over the
sets and its spread (`<metric>_std_over_sets`).

    scores = sample_sets.score_sample_sets(
        real, lambda i: generate(model, 1000, seed=i), extractors, num_sets=5, seed=0,
        reference_images=other_real)
    scores['frechet_distance'], scores['frechet_distance_std_over_sets']
    scores['autoencoder_frechet_distance']       # the second view's, prefixed with its name
"""

import time

import numpy as np

from spreadtf.evaluation import sample_quality

__all__ = ['METRICS', 'score', 'mean_over_sets', 'score_sample_sets']

METRICS = ('frechet_distance', 'kid', 'kid_std', 'precision', 'recall')


def score(real_features, fake_features, seed):
  """`sample_quality.sample_quality` with KID subsets of at most half of each set.

  With 1,000 held-out images a KID subset of 1,000 would be the whole set every time, and
  `kid_std` (KID's spread over its 100 subsets) would say nothing.

  Args:
    real_features: `[num_real, dim]`.
    fake_features: `[num_fake, dim]`.
    seed: seed of the KID subsets.

  Returns:
    The `sample_quality.sample_quality` dict.
  """
  subset_size = min(1000, len(real_features) // 2, len(fake_features) // 2)
  return sample_quality.sample_quality(real_features, fake_features, seed=seed,
                                       kid_subset_size=max(2, subset_size))


def mean_over_sets(scores, keys=METRICS):
  """The mean of each metric over sets of generated images, and its spread over the sets.

  Args:
    scores: a non-empty list of `sample_quality` dicts, one per independent set of generated
      images (scored against the same real images).
    keys: the metrics to average.

  Returns:
    `{key: mean}` and, when there are several sets, `{key + '_std_over_sets': std}` (the sample
    standard deviation, ddof 1: the spread of one set's score; the standard error of the mean is
    std / sqrt(len(scores))).

  Raises:
    ValueError: if `scores` is empty.
  """
  if not scores:
    raise ValueError('no sets of scores to average.')
  result = {}
  for key in keys:
    values = np.asarray([s[key] for s in scores], np.float64)
    result[key] = float(values.mean())
    if len(values) > 1:
      result[key + '_std_over_sets'] = float(values.std(ddof=1))
  return result


def score_sample_sets(real, generate_set, extractors, num_sets, seed, reference_images=None):
  """Scores `num_sets` generated sets against `real` in every view: the `eval.json` entries.

  Args:
    real: `[num, height, width, channels]` held-out real images in [0, 1].
    generate_set: `i -> [num_fake, height, width, channels]` images of set i (independent draws;
      called once per set, so only one set is in memory at a time).
    extractors: a `FeatureExtractor`, or `{view: FeatureExtractor}` (insertion order matters:
      the first view's keys are unprefixed, the others' start with `<view>_`).
    num_sets: sets, >= 1.
    seed: set i's KID subsets use seed + i; the reference uses `seed`.
    reference_images: None, or other real images scored against `real` the same way (the value
      a perfect generator would reach), written as `[<view>_]real_data_reference`.

  Returns:
    A JSON-ready dict: per view `[<view>_]<metric>` for `METRICS` (means over the sets),
    `[<view>_]<metric>_std_over_sets` when `num_sets > 1`, `[<view>_]real_data_reference`;
    `num_generated`, `num_sample_sets`, `feature_extractor` (the first view's description),
    for a dict of views `feature_extractors` (`{view: description}`), and
    `sample_quality_seconds`: wall seconds of `generation` (all sets) and of each view (its
    features and scores; the view of a lone extractor is called `features`), without overlap.

  Raises:
    ValueError: if `num_sets < 1` or `extractors` is empty, or from the metrics.
  """
  if num_sets < 1:
    raise ValueError(f'num_sets must be >= 1, got {num_sets}.')
  views = extractors if isinstance(extractors, dict) else {None: extractors}
  if not views:
    raise ValueError('no feature extractor given.')
  prefixes = {view: '' if i == 0 else f'{view}_' for i, view in enumerate(views)}
  names = {view: view or 'features' for view in views}
  seconds = {'generation': 0., **dict.fromkeys(names.values(), 0.)}
  clock = time.perf_counter
  real_features, scores = {}, {view: [] for view in views}
  for view, extractor in views.items():
    start = clock()
    real_features[view] = extractor(real)
    seconds[names[view]] += clock() - start
  for i in range(num_sets):
    start = clock()
    fake = generate_set(i)
    seconds['generation'] += clock() - start
    for view, extractor in views.items():
      start = clock()
      scores[view].append(score(real_features[view], extractor(fake), seed + i))
      seconds[names[view]] += clock() - start
  result = {'num_generated': len(fake), 'num_sample_sets': num_sets}
  for view, extractor in views.items():
    result.update({prefixes[view] + key: value
                   for key, value in mean_over_sets(scores[view]).items()})
    if reference_images is not None:
      start = clock()
      reference = score(extractor(reference_images), real_features[view], seed)
      seconds[names[view]] += clock() - start
      result[prefixes[view] + 'real_data_reference'] = {key: reference[key] for key in METRICS}
  result['feature_extractor'] = next(iter(views.values())).description()
  if isinstance(extractors, dict):
    result['feature_extractors'] = {view: e.description() for view, e in views.items()}
  result['sample_quality_seconds'] = seconds
  return result
