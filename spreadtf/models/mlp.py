"""MLP encoder and deterministic decoder for small images (MNIST 28x28x1, digits 8x8x1).

The encoder maps images `[batch, height, width, channels]` to the mean and log standard deviation
of a diagonal Gaussian q(z|y), each `[batch, latent_dim]`; the decoder maps `z` `[batch,
latent_dim]` to images in [0, 1] with the same shape. Both are plain functional Keras models: no
sampling, no distributions, no gin inside (the factories are gin-configurable).
"""

import math

import gin
import keras

__all__ = ['make_encoder', 'make_decoder']


@gin.configurable(module='spreadtf.models.mlp')
def make_encoder(image_shape, latent_dim, hidden_units=(512, 256), dtype_policy=None,
                 name='mlp_encoder'):
  """Builds the MLP encoder: flatten, ReLU dense layers, then dense mean and dense log-std.

  Args:
    image_shape: `(height, width, channels)` of the inputs.
    latent_dim: size of z.
    hidden_units: widths of the hidden ReLU layers.
    dtype_policy: None (the global policy) or a Keras dtype policy name such as
      `'mixed_bfloat16'`.
    name: model name.

  Returns:
    A `keras.Model` mapping `[batch, *image_shape]` to `(mean, log_std)`, each
    `[batch, latent_dim]`.
  """
  images = keras.Input(shape=tuple(image_shape), name='images')
  h = keras.layers.Flatten(dtype=dtype_policy)(images)
  for i, units in enumerate(hidden_units):
    h = keras.layers.Dense(units, activation='relu', dtype=dtype_policy, name=f'dense_{i}')(h)
  mean = keras.layers.Dense(latent_dim, dtype=dtype_policy, name='mean')(h)
  log_std = keras.layers.Dense(latent_dim, dtype=dtype_policy, name='log_std')(h)
  return keras.Model(images, (mean, log_std), name=name)


@gin.configurable(module='spreadtf.models.mlp')
def make_decoder(image_shape, latent_dim, hidden_units=(256, 512), dtype_policy=None,
                 name='mlp_decoder'):
  """Builds the deterministic MLP decoder g(z): ReLU dense layers, sigmoid output, reshape.

  Args:
    image_shape: `(height, width, channels)` of the outputs.
    latent_dim: size of z.
    hidden_units: widths of the hidden ReLU layers.
    dtype_policy: None or a Keras dtype policy name (see `make_encoder`).
    name: model name.

  Returns:
    A `keras.Model` mapping `[batch, latent_dim]` to images `[batch, *image_shape]` in [0, 1].
  """
  z = keras.Input(shape=(latent_dim,), name='z')
  h = z
  for i, units in enumerate(hidden_units):
    h = keras.layers.Dense(units, activation='relu', dtype=dtype_policy, name=f'dense_{i}')(h)
  h = keras.layers.Dense(math.prod(image_shape), activation='sigmoid', dtype=dtype_policy,
                         name='pixels')(h)
  images = keras.layers.Reshape(tuple(image_shape), dtype=dtype_policy)(h)
  return keras.Model(z, images, name=name)
