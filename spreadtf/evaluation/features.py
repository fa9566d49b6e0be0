"""Feature extractors: images `[num, height, width, channels]` in [0, 1] -> features `[num, dim]`.

The sample-quality metrics (`spreadtf.evaluation.sample_quality`) compare real and generated images
in a feature space. `load_feature_extractor` turns any of these into a `FeatureExtractor`:

  * a SavedModel directory with a `features` endpoint, such as a classifier written by
    `feature_classifier.export_classifier`: its `features(images)` returns
    `{'features': [num, dim]}`, and its `test_accuracy` variable is reported by `description()`;
  * any other SavedModel directory: its `serving_default` signature is called with the images as
    its single input; the features are its single output, or the output named by `output_key`
    (for several outputs); trailing dimensions are flattened (`[num, 1, 1, dim]` -> `[num, dim]`);
  * a Keras 3 model file (`.keras`, or a legacy full-model `.h5`), loaded with
    `keras.saving.load_model(path, compile=False)` (a model with custom layers: load it yourself
    and pass the model);
  * an in-memory `keras.Model` with one input and one output.

Every extractor receives float32 images in [0, 1], exactly as the generator makes them (a model
trained on another range, e.g. [-1, 1] or 0..255, must be wrapped to take [0, 1] first), in
batches of `batch_size`. `inception_v3(weights_path)` builds the CelebA extractor: Keras'
InceptionV3 pool features (2048-d) with the resize and scaling it needs. The mnist5k extractors
that ship with spreadtf (pinned weights) are loaded by `spreadtf.evaluation.shipped_features`.

`description()` identifies the extractor for `eval.json`: its kind, path and a SHA-256 content
hash (of the file, of the SavedModel's graph, variables and assets, or of an in-memory model's
weights). Scores are comparable only between runs with the same hash.

    extractor = features.load_feature_extractor('my_extractor')   # a SavedModel or .keras
    features.check_fits(extractor, (28, 28, 1))      # before generating anything
    real = extractor(test_images)                     # [num, 128] float32
    extractor.description()  # {'kind': 'saved_model', 'sha256': '...', 'test_accuracy': ...}

#### About InceptionV3 and published FIDs

Published FIDs (TTUR, Heusel et al. 2017, and most later papers) use the TensorFlow Inception
graph of 2015-12-05 (`classify_image_graph_def.pb` from `inception-2015-12-05.tgz`, which TTUR
loads; pytorch-fid ports it as `pt_inception-2015-12-05-6726825d.pth`), with the graph's own
resize, and typically 50,000 generated samples. Keras' ImageNet InceptionV3 weights
(`inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5`) are a different set of weights for
the same architecture, and our resize (TF bilinear) is not the graph's: FIDs from `inception_v3()`
should follow the same trends and be close to published numbers (how close is not measured
here), but they are not identical and must not be put in one table with them. FD also depends on
the number of samples (it is biased upwards for small sets), so compare only numbers computed with
equal sample counts. Nothing here downloads
weights: the user supplies the file.
"""

import hashlib
import os

import keras
import numpy as np
import tensorflow as tf

__all__ = ['FeatureExtractor', 'check_fits', 'content_sha256', 'inception_v3',
           'load_feature_extractor']

_DEFAULT_BATCH_SIZE = 250
_INCEPTION_SIZE = 299
_INCEPTION_DIM = 2048
# Images are checked to lie in [0, 1] up to this tolerance (catches 0..255 and [-1, 1] inputs).
_RANGE_TOLERANCE = 1e-3


def _shape_text(shape):
  """`(28, 28, 1)`, with `None` (any size) written as `any`."""
  return '(' + ', '.join('any' if size is None else str(size) for size in shape) + ')'


class FeatureExtractor:
  """Maps images `[num, height, width, channels]` in [0, 1] to features `[num, dim]`, in batches.

  Build one with `load_feature_extractor` or `inception_v3`.

  Attributes:
    input_shape: `(height, width, channels)` the extractor accepts; `None` for any size.
    dim: feature dimension.
    batch_size: images per call of the underlying model.
  """

  def __init__(self, features_fn, input_shape, dim, description, batch_size=_DEFAULT_BATCH_SIZE):
    """Wraps `features_fn`.

    Args:
      features_fn: callable, float32 tensor `[batch, *input_shape]` -> tensor `[batch, dim]`.
      input_shape: `(height, width, channels)`, entries int or None.
      dim: feature dimension.
      description: dict identifying the extractor (`kind`, `path`, `sha256`, and any extras);
        `input_shape` and `dim` are added.
      batch_size: images per call of `features_fn`.

    Raises:
      ValueError: if `input_shape` is not of length 3, or `dim` or `batch_size` is below 1.
    """
    if len(input_shape) != 3:
      raise ValueError(f'input_shape must be (height, width, channels), got {input_shape}.')
    if dim < 1 or batch_size < 1:
      raise ValueError(f'dim and batch_size must be >= 1, got {dim} and {batch_size}.')
    self._features_fn = features_fn
    self.input_shape = tuple(None if size is None else int(size) for size in input_shape)
    self.dim = int(dim)
    self.batch_size = int(batch_size)
    self._description = dict(description)

  def __call__(self, images):
    """Features of `images`.

    Args:
      images: float `[num, height, width, channels]` in [0, 1] (NumPy or tensor).

    Returns:
      float32 NumPy `[num, dim]`.

    Raises:
      ValueError: if the images are not rank 4, do not fit `input_shape` (the message names both
        shapes), are not finite or lie outside [0, 1].
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4:
      raise ValueError('images must be [num, height, width, channels], got shape '
                       f'{images.shape}.')
    check_fits(self, images.shape[1:])
    if images.size and not np.all(np.isfinite(images)):
      raise ValueError('images hold NaN or inf.')
    if images.size and (images.min() < -_RANGE_TOLERANCE or images.max() > 1. + _RANGE_TOLERANCE):
      raise ValueError(f'images must lie in [0, 1], got [{images.min()}, {images.max()}] (divide '
                       '0..255 pixels by 255; map [-1, 1] images by (x + 1) / 2).')
    batches = [np.asarray(self._features_fn(tf.constant(images[start:start + self.batch_size])))
               for start in range(0, len(images), self.batch_size)]
    features = (np.concatenate(batches).reshape(len(images), -1) if batches
                else np.zeros((0, self.dim)))
    if features.shape[1] != self.dim:
      raise ValueError(f'the extractor returned {features.shape[1]} features per image, its '
                       f'description says {self.dim}.')
    return features.astype(np.float32)

  def description(self):
    """A JSON-ready dict identifying the extractor, for `eval.json`.

    Returns:
      `{'kind': ..., 'path': ... or None, 'sha256': ... or None, 'input_shape': [h, w, c]
      (null for any size), 'dim': ...}` plus kind-specific entries (`endpoint`, `output_key`,
      `test_accuracy` for SavedModels that carry one, `preprocessing`).
    """
    return dict(self._description, input_shape=list(self.input_shape), dim=self.dim)


def check_fits(extractor, image_shape):
  """Raises unless images of `image_shape` fit `extractor` (or every extractor of a dict).

  Args:
    extractor: a `FeatureExtractor`, or `{view: FeatureExtractor}`.
    image_shape: `(height, width, channels)` of the images (e.g. the generator's).

  Raises:
    ValueError: naming both shapes (and the extractor's path) when they do not fit.
  """
  if isinstance(extractor, dict):
    for each in extractor.values():
      check_fits(each, image_shape)
    return
  image_shape = tuple(int(size) for size in image_shape)
  fits = len(image_shape) == 3 and all(
      wanted is None or wanted == size
      for wanted, size in zip(extractor.input_shape, image_shape, strict=True))
  if not fits:
    where = extractor.description().get('path') or extractor.description()['kind']
    raise ValueError(
        f'images of shape {_shape_text(image_shape)} (height, width, channels) do not fit the '
        f'feature extractor {where}, which takes images of shape '
        f'{_shape_text(extractor.input_shape)}. Use an extractor made for these images (e.g. '
        'inception_v3() for CelebA, the shipped mnist5k views for 28x28x1 digits).')


def _file_sha256(path, digest=None):
  digest = digest or hashlib.sha256()
  with tf.io.gfile.GFile(path, 'rb') as f:
    while chunk := f.read(1 << 20):
      digest.update(chunk)
  return digest


def _saved_model_files(path):
  """Relative paths (with `/`) of the files that make up a SavedModel: graph, variables, assets."""
  relative_paths = [name for name in ('saved_model.pb', 'saved_model.pbtxt')
                    if tf.io.gfile.exists(os.path.join(path, name))]
  if not relative_paths:
    raise ValueError(f'{path!r} is a directory without saved_model.pb, so not a SavedModel.')
  for subdirectory in ('variables', 'assets'):
    for directory, _, names in tf.io.gfile.walk(os.path.join(path, subdirectory)):
      relative = os.path.relpath(directory, path)
      relative_paths.extend(os.path.normpath(os.path.join(relative, name)).replace(os.sep, '/')
                            for name in names)
  return sorted(relative_paths)


def content_sha256(path):
  """SHA-256 of a model file's bytes, or of the content of a SavedModel directory.

  For a SavedModel the content is its graph (`saved_model.pb`), every file under `variables/`
  and `assets/`: each contributes its path relative to `path` and the SHA-256 of its bytes, in
  sorted order of the relative paths. So the hash does not depend on where the directory lies and
  changes when a weight or the graph changes. Other files are left out: `fingerprint.pb` (it holds
  a random id per save) and files stored beside the model such as `classifier.json`; two exports
  of bit-identical weights give one hash.

  Args:
    path: a file, or a SavedModel directory (local or any `tf.io.gfile` path).

  Returns:
    The hex digest.

  Raises:
    ValueError: if `path` is a directory without `saved_model.pb`.
  """
  if not tf.io.gfile.isdir(path):
    return _file_sha256(path).hexdigest()
  digest = hashlib.sha256()
  for relative in _saved_model_files(path):
    digest.update(relative.encode('utf-8') + b'\0')
    digest.update(_file_sha256(os.path.join(path, relative)).digest())
  return digest.hexdigest()


def _weights_sha256(model):
  """SHA-256 of a Keras model's weights: shape, dtype and values, in the model's order."""
  digest = hashlib.sha256()
  for weight in model.weights:
    value = np.ascontiguousarray(keras.ops.convert_to_numpy(weight))
    digest.update(f'{value.shape}{value.dtype}'.encode())
    digest.update(value.tobytes())
  return digest.hexdigest()


def _flat_dim(shape, what):
  """Feature dimension of a `[batch, ...]` output shape (the product of the trailing sizes)."""
  trailing = list(shape)[1:]
  if not trailing or any(size is None for size in trailing):
    raise ValueError(f'{what} must have a fixed feature shape [batch, dim] (or [batch, ...] to '
                     f'flatten), got {list(shape)}.')
  return int(np.prod(trailing))


def _flatten_fn(features_fn):
  return lambda images: tf.reshape(features_fn(images), [tf.shape(images)[0], -1])


def _from_keras_model(model, description, batch_size):
  """A FeatureExtractor calling `model(images, training=False)`."""
  try:
    inputs, outputs = model.inputs, model.outputs
  except (AttributeError, ValueError) as e:
    raise ValueError('the Keras model must be built with a known input shape (a functional or '
                     f'Sequential model with an Input): {e}') from e
  if not inputs or len(inputs) != 1 or len(outputs) != 1:
    raise ValueError('a Keras feature extractor must have one input and one output, got '
                     f'{len(inputs or [])} and {len(outputs or [])}.')
  input_shape = tuple(inputs[0].shape[1:])
  dim = _flat_dim(outputs[0].shape, 'the Keras model output')
  call = tf.function(lambda images: model(images, training=False), reduce_retracing=True)
  return FeatureExtractor(_flatten_fn(call), input_shape, dim, description, batch_size)


def _signature_input(signature, path):
  """The name and spec of the single input of a SavedModel signature."""
  args, kwargs = signature.structured_input_signature
  specs = dict(kwargs)
  if args or len(specs) != 1:
    raise ValueError(f'the serving_default signature of {path!r} must take one input (the '
                     f'images), got {len(args) + len(specs)}.')
  (name, spec), = specs.items()
  if spec.dtype != tf.float32 or spec.shape.rank != 4:
    raise ValueError(f'the serving_default signature of {path!r} must take float32 images '
                     f'[batch, height, width, channels], got {spec}. Wrap the model to take '
                     'float32 images in [0, 1].')
  return name, spec


def _from_saved_model(path, batch_size, output_key):
  """A FeatureExtractor from a SavedModel: its `features` endpoint, else `serving_default`."""
  loaded = tf.saved_model.load(path)
  description = {'kind': 'saved_model', 'path': path, 'sha256': content_sha256(path)}
  if hasattr(loaded, 'test_accuracy'):
    description['test_accuracy'] = float(loaded.test_accuracy.numpy())
  if hasattr(loaded, 'features') and output_key is None:
    spec, = loaded.features.input_signature
    outputs = loaded.features.get_concrete_function().structured_outputs
    dim = _flat_dim(outputs['features'].shape, f'the features endpoint of {path!r}')
    description.update(endpoint='features', output_key='features')
    return FeatureExtractor(_flatten_fn(lambda images: loaded.features(images)['features']),
                            spec.shape[1:], dim, description, batch_size)
  if 'serving_default' not in loaded.signatures:
    raise ValueError(f'SavedModel {path!r} has neither a features endpoint nor a serving_default '
                     f'signature (signatures: {sorted(loaded.signatures)}).')
  signature = loaded.signatures['serving_default']
  name, spec = _signature_input(signature, path)
  outputs = signature.structured_outputs
  if output_key is None:
    if len(outputs) != 1:
      raise ValueError(f'the serving_default signature of {path!r} has outputs {sorted(outputs)}; '
                       'pass output_key= to choose the features.')
    output_key, = outputs
  if output_key not in outputs:
    raise ValueError(f'output_key {output_key!r} is not an output of the serving_default '
                     f'signature of {path!r}: {sorted(outputs)}.')
  dim = _flat_dim(outputs[output_key].shape, f'output {output_key!r} of {path!r}')
  description.update(endpoint='serving_default', output_key=output_key)

  def features_fn(images):
    # Through `loaded`, which owns the variables: a signature alone does not keep them alive.
    return loaded.signatures['serving_default'](**{name: images})[output_key]

  return FeatureExtractor(_flatten_fn(features_fn), spec.shape[1:], dim, description, batch_size)


def load_feature_extractor(path_or_model, batch_size=_DEFAULT_BATCH_SIZE, output_key=None):
  """A FeatureExtractor from a SavedModel directory, a Keras model file or a `keras.Model`.

  See the module docstring for what each kind must provide.

  Args:
    path_or_model: a SavedModel directory, a `.keras` (or legacy `.h5`) model file, or a
      `keras.Model` with one input and one output.
    batch_size: images per call of the model.
    output_key: for a SavedModel, the `serving_default` output holding the features (needed when
      it has several outputs; given, it also selects `serving_default` over a `features`
      endpoint).

  Returns:
    A `FeatureExtractor`.

  Raises:
    FileNotFoundError: if the path does not exist.
    ValueError: naming the path if it is neither a SavedModel nor a Keras model file, or if the
      model has no usable single image input and feature output.
  """
  if isinstance(path_or_model, keras.Model):
    description = {'kind': 'keras', 'path': None, 'sha256': _weights_sha256(path_or_model)}
    return _from_keras_model(path_or_model, description, batch_size)
  path = os.fspath(path_or_model)
  if '://' not in path:
    path = os.path.abspath(path)
  if not tf.io.gfile.exists(path):
    raise FileNotFoundError(f'feature extractor {path!r} does not exist (the shipped mnist5k '
                            'ones need no path: --features=default).')
  if tf.io.gfile.isdir(path):
    _saved_model_files(path)  # raises naming the path unless it is a SavedModel
    return _from_saved_model(path, batch_size, output_key)
  if not path.endswith(('.keras', '.h5')):
    raise ValueError(f'feature extractor {path!r} is neither a SavedModel directory nor a Keras '
                     'model file (.keras, or a legacy .h5).')
  try:
    model = keras.saving.load_model(path, compile=False)
  except (ValueError, OSError, TypeError) as e:
    raise ValueError(f'cannot load the Keras model file {path!r}: {e}') from e
  return _from_keras_model(model, {'kind': 'keras', 'path': path,
                                   'sha256': content_sha256(path)}, batch_size)


def inception_v3(weights_path, batch_size=50):
  """InceptionV3 pool features (2048-d) for RGB images of any size, e.g. CelebA.

  `keras.applications.InceptionV3(include_top=False, pooling='avg', weights=weights_path)` on
  images resized bilinearly to 299x299 and mapped from [0, 1] to [-1, 1] (x * 2 - 1, the scaling
  of `keras.applications.inception_v3.preprocess_input`). The weights are the user's file, e.g.
  Keras' `inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5`; nothing is downloaded. See
  the module docstring on how these FIDs relate to published ones (close, not identical). On CPU
  it takes minutes per 1,000 images (docs/results.md, "Evaluation costs").

  Args:
    weights_path: the weights file (a Keras `.h5` / `.weights.h5`), or None for random weights
      (tests only: the features then mean nothing).
    batch_size: images per forward pass.

  Returns:
    A `FeatureExtractor` with `input_shape` (None, None, 3) and `dim` 2048, whose description
    records the weights file and its hash.

  Raises:
    FileNotFoundError: if `weights_path` does not exist.
  """
  if weights_path is not None:
    weights_path = os.path.abspath(os.fspath(weights_path))
    if not tf.io.gfile.exists(weights_path):
      raise FileNotFoundError(f'InceptionV3 weights {weights_path!r} do not exist; supply the '
                              'file (e.g. inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5'
                              ' from the Keras applications release).')
  model = keras.applications.InceptionV3(
      include_top=False, pooling='avg', weights=weights_path,
      input_shape=(_INCEPTION_SIZE, _INCEPTION_SIZE, 3))

  @tf.function(reduce_retracing=True)
  def features_fn(images):
    images = tf.image.resize(images, [_INCEPTION_SIZE, _INCEPTION_SIZE], method='bilinear')
    return model(images * 2. - 1., training=False)

  description = {
      'kind': 'inception_v3', 'path': weights_path,
      'sha256': None if weights_path is None else content_sha256(weights_path),
      'preprocessing': 'bilinear resize to 299x299, then x * 2 - 1',
  }
  return FeatureExtractor(features_fn, (None, None, 3), _INCEPTION_DIM, description, batch_size)
