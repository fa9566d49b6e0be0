"""The mnist5k feature extractors that ship with spreadtf, pinned by SHA-256.

Two views of 28x28x1 digits in [0, 1], each a network built in code plus a weights file in
`spreadtf/evaluation/weights/` (package data: an editable install and a fresh clone both see it):

  * `classifier` (the default view; 128-d): the penultimate layer of a conv digit classifier
    trained with random shifts (`feature_classifier`). It sees what makes a digit a digit and
    hardly sees blur;
  * `autoencoder` (the blur-sensitive view; 64-d): the code of a conv autoencoder trained to
    redraw the digits (`feature_autoencoder`). It sees blur, noise and shifts.

docs/sample_quality.md calibrates both against known defects. Every file's SHA-256 is pinned
below and checked before its weights are read: a modified, truncated or replaced file is refused
(`pinned_weights.WeightsMismatchError`, saying what to do), so FD and KID computed with these
extractors compare across machines. Nothing is trained or downloaded at load.

    extractors = shipped_features.load_default_extractors()  # {'classifier': .., 'autoencoder': ..}
    extractor = shipped_features.load_extractor('autoencoder')
    extractor(images)          # [num, 28, 28, 1] in [0, 1] -> [num, 64] float32
    extractor.description()    # kind 'shipped', view, path, sha256, trained_by, ...

The weights were written by `launch/train_features.py` (the command in `SHIPPED[view].command`,
with TensorFlow op determinism on) and re-training with that command on another machine need not
give the same bytes; to ship new weights, write them to `WEIGHTS_DIR` and pin the SHA-256 the
launcher prints.
"""

import dataclasses
import os

import tensorflow as tf

from spreadtf.evaluation import feature_autoencoder
from spreadtf.evaluation import feature_classifier
from spreadtf.evaluation import features
from spreadtf.evaluation import pinned_weights

__all__ = ['WEIGHTS_DIR', 'ShippedView', 'SHIPPED', 'DEFAULT_VIEWS', 'weights_path',
           'load_extractor', 'load_default_extractors', 'train_view']

WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'weights')


@dataclasses.dataclass(frozen=True)
class ShippedView:
  """A shipped extractor: how to build its network and which weights file (and hash) it takes.

  Attributes:
    name: the view's name, used as the prefix of its metrics in `eval.json`.
    weights_name: the file's name without `.weights.h5`, in `WEIGHTS_DIR`.
    sha256: the pinned SHA-256 of the weights file.
    build: `() -> (model the file's weights load into, features model sharing its weights)`.
    train: `(out, epochs, seed, num_train) -> summary dict`, the trainer that writes the file.
    epochs: the epochs of the shipped file.
    command: the `launch/train_features.py` command that wrote the file.
    trained: what the file was trained on and how well it does, for `description()`.
  """
  name: str
  weights_name: str
  sha256: str
  build: object
  train: object
  epochs: int
  command: str
  trained: dict


def _build_classifier():
  classifier = feature_classifier.make_classifier()
  return classifier, feature_classifier.features_model(classifier)


def _build_encoder():
  encoder = feature_autoencoder.make_encoder()
  return encoder, encoder


SHIPPED = {
    'classifier': ShippedView(
        name='classifier', weights_name=feature_classifier.WEIGHTS_NAME,
        sha256='65496100fa6f396e61ccf29591476c607090830b09a534832a2ed6897f0a2af5',
        build=_build_classifier, train=feature_classifier.train_feature_classifier, epochs=15,
        command='python launch/train_features.py --extractor=classifier --seed=0 --epochs=15 '
                '--out=spreadtf/evaluation/weights',
        trained={'num_train': 3500, 'test_accuracy': 0.981}),
    'autoencoder': ShippedView(
        name='autoencoder', weights_name=feature_autoencoder.WEIGHTS_NAME,
        sha256='c00597ee78e0de12293e9f342a8367a52f3d0783d9555377748b680cdcf88528',
        build=_build_encoder, train=feature_autoencoder.train_feature_autoencoder, epochs=20,
        command='python launch/train_features.py --extractor=autoencoder --seed=0 --epochs=20 '
                '--out=spreadtf/evaluation/weights',
        trained={'num_train': 3500, 'test_reconstruction_bce': 0.0795}),
}

# The views `launch/evaluate.py --features=default` scores in; the first one's metrics are the
# unprefixed keys of eval.json.
DEFAULT_VIEWS = ('classifier', 'autoencoder')


def weights_path(view):
  """The shipped weights file of `view` (see `SHIPPED`)."""
  return os.path.join(WEIGHTS_DIR, _view(view).weights_name + '.weights.h5')


def _view(view):
  if view not in SHIPPED:
    raise ValueError(f'unknown feature view {view!r}; the shipped ones are {sorted(SHIPPED)}.')
  return SHIPPED[view]


def load_extractor(view, path=None, batch_size=250):
  """The shipped extractor `view`, its weights file checked against the pinned SHA-256 first.

  Args:
    view: 'classifier' or 'autoencoder' (see `SHIPPED`).
    path: None for the shipped file; another `.weights.h5` of the same network (e.g. written by
      `launch/train_features.py` on this machine), which is loaded unpinned: its description says
      `pinned: False` and its own SHA-256, and its numbers compare only with its own.
    batch_size: images per forward pass.

  Returns:
    A `features.FeatureExtractor` for `[num, 28, 28, 1]` images in [0, 1].

  Raises:
    ValueError: for an unknown view.
    pinned_weights.WeightsMismatchError: if the shipped file is missing or its SHA-256 is not the
      pinned one (the message says how to restore or re-pin it).
  """
  shipped = _view(view)
  pinned = path is None
  path = weights_path(view) if pinned else os.fspath(path)
  if pinned:
    pinned_weights.check_sha256(path, shipped.sha256, how_to_fix=(
        f'Restore the shipped file (`git checkout -- {os.path.relpath(path)}` in a clone, or '
        'reinstall spreadtf); if you retrained it on purpose, pin its SHA-256 in '
        f'spreadtf/evaluation/shipped_features.py (SHIPPED[{view!r}].sha256).'))
  elif not tf.io.gfile.exists(path):
    raise FileNotFoundError(f'weights file {path!r} does not exist.')
  weights_model, features_model = shipped.build()
  weights_model.load_weights(path)
  description = {'kind': 'shipped', 'view': view, 'path': path,
                 'sha256': shipped.sha256 if pinned else pinned_weights.file_sha256(path),
                 'pinned': pinned, 'trained_by': shipped.command}
  if pinned:
    description.update(shipped.trained)
  call = tf.function(lambda images: features_model(images, training=False),
                     reduce_retracing=True)
  return features.FeatureExtractor(call, features_model.input_shape[1:],
                                   features_model.output_shape[-1], description, batch_size)


def load_default_extractors(batch_size=250):
  """`{view: extractor}` for `DEFAULT_VIEWS`, in that order (see `load_extractor`)."""
  return {view: load_extractor(view, batch_size=batch_size) for view in DEFAULT_VIEWS}


def train_view(view, out, seed=0, epochs=None, num_train=None):
  """Trains the network of `view` and writes its weights to `out` (the root of train_features).

  Args:
    view: 'classifier' or 'autoencoder'.
    out: output directory: `<weights_name>.weights.h5` and `.json` (`WEIGHTS_DIR` to ship them).
    seed: the training seed (the shipped files used 0).
    epochs: None for the shipped file's epochs.
    num_train: None for all training digits, or this many (smoke runs).

  Returns:
    The trainer's summary (see `feature_classifier.train_feature_classifier` and
    `feature_autoencoder.train_feature_autoencoder`) plus `view`, `pinned_sha256` and
    `matches_pinned` (whether the written file is byte for byte the shipped one).
  """
  shipped = _view(view)
  summary = shipped.train(out, epochs=epochs or shipped.epochs, seed=seed, num_train=num_train)
  return dict(summary, view=view, pinned_sha256=shipped.sha256,
              matches_pinned=summary['sha256'] == shipped.sha256)
