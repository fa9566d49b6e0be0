"""Convolutions as one matrix product over image patches, for small feature maps.

On this project's CPUs, TensorFlow's oneDNN kernels are slow for strided 5x5 convolutions whose
small side is 4x4 with wide channels: in the paper's CelebA nets, conv 8x8x512 -> 4x4x1024 and
the transposed conv 4x4x1024 -> 8x8x512 took several times as long as the other layers of the
same cost. Written as one matmul over patches they come close to those; on larger maps
oneDNN stays faster (docs/results.md, "CelebA conv nets on CPU"), so the networks use these
layers only where the small side is at most `MAX_MATMUL_PIXELS` pixels.

Both layers hold the same kernel as their Keras counterparts (`Conv2D`: `[k, k, in, out]`;
`Conv2DTranspose`: `[k, k, out, in]`), use 'same' padding, and compute the same function:

  * `PatchConv2D`: y = patches(x) @ W, patches from k*k strided slices of the padded input
    (im2col), `[batch, out_h, out_w, k*k*in] @ [k*k*in, out]`.
  * `PatchConv2DTranspose`: the adjoint (col2im): cols = x @ W^T gives every input pixel's k*k
    contributions, which are summed into the output. Taps are grouped by their position modulo the
    stride, so each group is a sum of shifts on the input grid, and one interleave of the stride^2
    groups gives the output. Each layer's input gradient is the other's operation (custom
    gradients: autodiff of the k*k tap slices would build k*k full-size scatter tensors).
"""

import keras
import tensorflow as tf

__all__ = ['MAX_MATMUL_PIXELS', 'PatchConv2D', 'PatchConv2DTranspose', 'same_padding']

# Feature maps with at most this many pixels (small side) use the patch-matmul layers (4 x 4).
MAX_MATMUL_PIXELS = 16


def same_padding(size, kernel_size, stride):
  """(before, after) padding of TensorFlow's 'SAME' convolution along one axis of `size`."""
  out = -(-size // stride)
  total = max((out - 1) * stride + kernel_size - size, 0)
  return total // 2, total - total // 2


def _im2col(inputs, kernel_size, strides):
  """Patches `[batch, out_h, out_w, k * k * channels]` of a 'same' conv (row-major taps)."""
  _, height, width, _ = inputs.shape
  k, s = kernel_size, strides
  out_h, out_w = -(-height // s), -(-width // s)
  padded = tf.pad(inputs, [[0, 0], same_padding(height, k, s), same_padding(width, k, s),
                           [0, 0]])
  return tf.concat([padded[:, i:i + s * (out_h - 1) + 1:s, j:j + s * (out_w - 1) + 1:s, :]
                    for i in range(k) for j in range(k)], axis=-1)


def _col2im(cols, out_shape, kernel_size, strides):
  """The adjoint of `_im2col`: sums k*k per-pixel contributions into the 'same' conv input.

  Args:
    cols: `[batch, h, w, k, k, channels]`; tap (dy, dx) of pixel (i, j) lands on input pixel
      (s * i + dy - pad_h, s * j + dx - pad_w).
    out_shape: `(height, width)` of the conv input (h = ceil(height / s)).
    kernel_size: k.
    strides: s.

  Returns:
    `[batch, height, width, channels]`.
  """
  _, h, w, k, _, channels = cols.shape
  s = strides
  height, width = out_shape
  pad_h, pad_w = same_padding(height, k, s)[0], same_padding(width, k, s)[0]
  # Tap dy = p + s * a lands on row s * (i + a) + p of the padded input: group the taps by phase
  # p (and q for columns), shift each by a (b) on the small grid, then interleave the s*s phases.
  reach = (k - 1) // s + 1
  grid_h, grid_w = max(h + reach - 1, -(-(pad_h + height) // s)), max(
      w + reach - 1, -(-(pad_w + width) // s))
  phases = []
  for p in range(s):
    row = []
    for q in range(s):
      total = tf.zeros([tf.shape(cols)[0], grid_h, grid_w, channels], cols.dtype)
      for a in range(len(range(p, k, s))):
        for b in range(len(range(q, k, s))):
          total += tf.pad(cols[:, :, :, p + s * a, q + s * b, :],
                          [[0, 0], [a, grid_h - h - a], [b, grid_w - w - b], [0, 0]])
      row.append(total)
    phases.append(tf.stack(row, axis=3))                   # [b, grid_h, grid_w, s(q), c]
  grid = tf.stack(phases, axis=2)                          # [b, grid_h, s(p), grid_w, s(q), c]
  full = tf.reshape(grid, [-1, grid_h * s, grid_w * s, channels])
  return full[:, pad_h:pad_h + height, pad_w:pad_w + width, :]


def _patch_conv(inputs, kernel, strides):
  """'same' conv `[b, H, W, in] x [k, k, in, out] -> [b, ceil(H/s), ceil(W/s), out]` by matmul.

  The input gradient is `_col2im` of dy W^T (a transposed conv), not the autodiff of the k*k
  slices, which would build k*k full-size scatter tensors.
  """
  k, _, in_channels, out_channels = kernel.shape
  height, width = inputs.shape[1], inputs.shape[2]

  @tf.custom_gradient
  def conv(x, w):
    patches = _im2col(x, k, strides)
    matrix = tf.reshape(w, [-1, out_channels])
    outputs = tf.einsum('bhwk,ko->bhwo', patches, matrix)

    def grad(upstream):
      d_patches = tf.einsum('bhwo,ko->bhwk', upstream, matrix)
      d_cols = tf.reshape(d_patches, tf.concat([tf.shape(d_patches)[:3],
                                                [k, k, in_channels]], axis=0))
      d_cols = tf.ensure_shape(d_cols, [None] + d_patches.shape[1:3] + [k, k, in_channels])
      d_x = _col2im(d_cols, (height, width), k, strides)
      d_w = tf.reshape(tf.einsum('bhwk,bhwo->ko', patches, upstream), w.shape)
      return d_x, d_w

    return outputs, grad

  return conv(inputs, kernel)


def _patch_conv_transpose(inputs, kernel, strides):
  """'same' transposed conv `[b, h, w, in] x [k, k, out, in] -> [b, s*h, s*w, out]` by col2im.

  The gradients go through `_im2col` of the upstream gradient (the adjoint of `_col2im`), not the
  autodiff of the k*k tap slices.
  """
  k, _, out_channels, in_channels = kernel.shape
  height, width = inputs.shape[1], inputs.shape[2]

  @tf.custom_gradient
  def conv_transpose(x, w):
    # cols[b, i, j, dy, dx, :]: what input pixel (i, j) adds at output (s*i + dy - pad, ...).
    matrix = tf.reshape(tf.transpose(w, [3, 0, 1, 2]), [in_channels, -1])
    cols = tf.einsum('bhwi,ik->bhwk', x, matrix)
    cols6 = tf.ensure_shape(
        tf.reshape(cols, tf.concat([tf.shape(cols)[:3], [k, k, out_channels]], axis=0)),
        [None, height, width, k, k, out_channels])
    outputs = _col2im(cols6, (height * strides, width * strides), k, strides)

    def grad(upstream):
      d_cols = _im2col(upstream, k, strides)                 # [b, h, w, k * k * out]
      d_x = tf.einsum('bhwk,ik->bhwi', d_cols, matrix)
      d_matrix = tf.einsum('bhwi,bhwk->ik', x, d_cols)
      d_w = tf.transpose(tf.reshape(d_matrix, [in_channels, k, k, out_channels]), [1, 2, 3, 0])
      return d_x, d_w

    return outputs, grad

  return conv_transpose(inputs, kernel)


class _PatchConv(keras.layers.Layer):
  """Shared arguments, weights and config of the two patch layers."""

  def __init__(self, filters, kernel_size, strides=1, use_bias=True,
               kernel_initializer='glorot_uniform', **kwargs):
    """Builds the layer (arguments as Keras' convs; square kernel and stride)."""
    super().__init__(**kwargs)
    self.filters = int(filters)
    self.kernel_size = int(kernel_size)
    self.strides = int(strides)
    self.use_bias = bool(use_bias)
    self.kernel_initializer = keras.initializers.get(kernel_initializer)

  def _kernel_shape(self, in_channels):
    raise NotImplementedError

  def build(self, input_shape):
    if len(input_shape) != 4 or input_shape[1] is None or input_shape[2] is None:
      raise ValueError(f'{type(self).__name__} needs [batch, height, width, channels] inputs '
                       f'with static height and width, got shape {input_shape}.')
    self.kernel = self.add_weight(shape=self._kernel_shape(input_shape[-1]), name='kernel',
                                  initializer=self.kernel_initializer)
    if self.use_bias:
      self.bias = self.add_weight(shape=(self.filters,), name='bias', initializer='zeros')

  def _add_bias(self, outputs):
    return tf.nn.bias_add(outputs, self.bias) if self.use_bias else outputs

  def get_config(self):
    return {**super().get_config(), 'filters': self.filters, 'kernel_size': self.kernel_size,
            'strides': self.strides, 'use_bias': self.use_bias,
            'kernel_initializer': keras.initializers.serialize(self.kernel_initializer)}


class PatchConv2D(_PatchConv):
  """`keras.layers.Conv2D(filters, kernel_size, strides, padding='same')` as one matmul (im2col).

  Kernel `[k, k, in, filters]`. Input `[batch, height, width, in]` (static height and width),
  output `[batch, ceil(height / strides), ceil(width / strides), filters]`.
  """

  def _kernel_shape(self, in_channels):
    return (self.kernel_size, self.kernel_size, in_channels, self.filters)

  def call(self, inputs):
    return self._add_bias(
        _patch_conv(inputs, tf.convert_to_tensor(self.kernel), self.strides))

  def compute_output_shape(self, input_shape):
    batch, height, width, _ = input_shape
    return (batch, -(-height // self.strides), -(-width // self.strides), self.filters)


class PatchConv2DTranspose(_PatchConv):
  """`keras.layers.Conv2DTranspose(filters, kernel_size, strides, padding='same')` by col2im.

  Kernel `[k, k, filters, in]`. Input `[batch, height, width, in]` (static height and width),
  output `[batch, height * strides, width * strides, filters]`.
  """

  def _kernel_shape(self, in_channels):
    return (self.kernel_size, self.kernel_size, self.filters, in_channels)

  def call(self, inputs):
    return self._add_bias(
        _patch_conv_transpose(inputs, tf.convert_to_tensor(self.kernel), self.strides))

  def compute_output_shape(self, input_shape):
    batch, height, width, _ = input_shape
    return (batch, height * self.strides, width * self.strides, self.filters)
