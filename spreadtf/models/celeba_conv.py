"""The paper's CelebA conv encoder and deterministic decoder (the WAE "dc" family).

The architecture of the authors' CelebA code (docs/method.md 6.4).

Encoder: four 5x5 stride-2 convs (128-256-512-1024), each with BatchNorm and ReLU; flatten; dense
mean and dense log-std. Decoder: dense to 4x4x1024, ReLU; four 5x5 stride-2 transposed convs
(512-256-128-64), each with BatchNorm and ReLU; a final 5x5 stride-1 transposed conv to the image
channels with a sigmoid. Widths are arguments so smoke tests can use tiny ones. Convs followed by
BatchNorm carry no bias (BN's offset makes it redundant), and BatchNorm is the fused kernel
(`batch_norm.FusedBatchNorm`, faster than Keras 3's on CPU). Layers whose small side is at most
4x4 (the last conv, the first transposed conv) are `patch_conv` layers, one matmul over patches:
the same function, faster than oneDNN's kernels there on CPU (docs/results.md, "CelebA conv nets
on CPU").
"""

import gin
import keras

from spreadtf.models import batch_norm
from spreadtf.models import patch_conv

__all__ = ['make_encoder', 'make_decoder']


def _keras_conv(filters, kernel_size, strides, **kwargs):
  return keras.layers.Conv2D(filters, kernel_size, strides=strides, padding='same', **kwargs)


def _keras_conv_transpose(filters, kernel_size, strides, **kwargs):
  return keras.layers.Conv2DTranspose(filters, kernel_size, strides=strides, padding='same',
                                      **kwargs)


@gin.configurable(module='spreadtf.models.celeba_conv')
def make_encoder(image_shape, latent_dim, filters=(128, 256, 512, 1024), kernel_size=5,
                 dtype_policy=None, name='conv_encoder'):
  """Builds the conv encoder.

  Args:
    image_shape: `(height, width, channels)`, e.g. `(64, 64, 3)`.
    latent_dim: size of z (100 in the paper).
    filters: output channels of the stride-2 convs.
    kernel_size: conv kernel size.
    dtype_policy: None (the global policy) or a Keras dtype policy name such as
      `'mixed_bfloat16'`.
    name: model name.

  Returns:
    A `keras.Model` mapping `[batch, *image_shape]` to `(mean, log_std)`, each
    `[batch, latent_dim]`.
  """
  images = keras.Input(shape=tuple(image_shape), name='images')
  h = images
  for i, width in enumerate(filters):
    out_pixels = -(-h.shape[1] // 2) * -(-h.shape[2] // 2)
    conv_cls = (patch_conv.PatchConv2D if out_pixels <= patch_conv.MAX_MATMUL_PIXELS
                else _keras_conv)
    h = conv_cls(width, kernel_size, strides=2, use_bias=False, dtype=dtype_policy,
                 name=f'conv_{i}')(h)
    h = batch_norm.FusedBatchNorm(dtype=dtype_policy, name=f'bn_{i}')(h)
    h = keras.layers.ReLU(dtype=dtype_policy)(h)
  h = keras.layers.Flatten(dtype=dtype_policy)(h)
  mean = keras.layers.Dense(latent_dim, dtype=dtype_policy, name='mean')(h)
  log_std = keras.layers.Dense(latent_dim, dtype=dtype_policy, name='log_std')(h)
  return keras.Model(images, (mean, log_std), name=name)


@gin.configurable(module='spreadtf.models.celeba_conv')
def make_decoder(image_shape, latent_dim, filters=(512, 256, 128, 64), dense_filters=1024,
                 kernel_size=5, dtype_policy=None, name='conv_decoder'):
  """Builds the deterministic conv decoder g(z).

  Args:
    image_shape: `(height, width, channels)` of the outputs; height and width must be divisible
      by `2 ** len(filters)` (64 / 16 = 4 in the paper).
    latent_dim: size of z.
    filters: output channels of the stride-2 transposed convs.
    dense_filters: channels of the first dense feature map (1024 in the paper).
    kernel_size: conv kernel size.
    dtype_policy: None or a Keras dtype policy name (see `make_encoder`).
    name: model name.

  Returns:
    A `keras.Model` mapping `[batch, latent_dim]` to images `[batch, *image_shape]` in [0, 1].

  Raises:
    ValueError: if the image size is not divisible by `2 ** len(filters)`.
  """
  height, width, channels = image_shape
  factor = 2 ** len(filters)
  if height % factor or width % factor:
    raise ValueError(f'image_shape {tuple(image_shape)} must be divisible by {factor} '
                     f'for {len(filters)} stride-2 layers.')
  z = keras.Input(shape=(latent_dim,), name='z')
  h = keras.layers.Dense(height // factor * width // factor * dense_filters, dtype=dtype_policy,
                         name='dense')(z)
  h = keras.layers.Reshape((height // factor, width // factor, dense_filters),
                           dtype=dtype_policy)(h)
  h = keras.layers.ReLU(dtype=dtype_policy)(h)
  for i, width_i in enumerate(filters):
    deconv_cls = (patch_conv.PatchConv2DTranspose
                  if h.shape[1] * h.shape[2] <= patch_conv.MAX_MATMUL_PIXELS
                  else _keras_conv_transpose)
    h = deconv_cls(width_i, kernel_size, strides=2, use_bias=False, dtype=dtype_policy,
                   name=f'deconv_{i}')(h)
    h = batch_norm.FusedBatchNorm(dtype=dtype_policy, name=f'bn_{i}')(h)
    h = keras.layers.ReLU(dtype=dtype_policy)(h)
  images = keras.layers.Conv2DTranspose(channels, kernel_size, strides=1, padding='same',
                                        activation='sigmoid', dtype=dtype_policy,
                                        name='pixels')(h)
  return keras.Model(z, images, name=name)
