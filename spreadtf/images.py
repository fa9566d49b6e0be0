"""Image grids and PNG encoding with TensorFlow alone (no TFP, no Keras).

Used by the training summaries and by `launch/sample.py`, which must run where only TensorFlow is
installed (importing `spreadtf.images` does not import TFP: `spreadtf/__init__.py` is lazy).

    png = images.to_png(images.image_grid(samples))        # samples [num, height, width, channels]
    files.write_bytes('grid.png', png.numpy())
"""

import math

import tensorflow as tf

__all__ = ['image_grid', 'to_png']


def image_grid(images, columns=None):
  """Tiles images into one picture, row by row, padding the last row with black tiles.

  Args:
    images: `[num, height, width, channels]`.
    columns: images per row (default: the integer square root of `num`).

  Returns:
    `[rows * height, columns * width, channels]` tensor of the input dtype, with
    rows = ceil(num / columns).
  """
  num, height, width, channels = images.shape
  columns = columns or max(1, math.isqrt(num))
  rows = -(-num // columns)
  padded = tf.concat([images, tf.zeros([rows * columns - num, height, width, channels],
                                       images.dtype)], axis=0)
  grid = tf.reshape(padded, [rows, columns, height, width, channels])
  grid = tf.transpose(grid, [0, 2, 1, 3, 4])
  return tf.reshape(grid, [rows * height, columns * width, channels])


def to_png(grid):
  """PNG bytes (scalar string tensor) of a `[height, width, channels]` image in [0, 1].

  Values are clipped to [0, 1] and rounded to 8 bits.
  """
  return tf.io.encode_png(tf.cast(tf.round(tf.clip_by_value(grid, 0., 1.) * 255.), tf.uint8))
