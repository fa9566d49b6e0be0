"""TensorBoard output of a run: scalar metrics and a grid of generated images."""

import math

import tensorflow as tf

__all__ = ['image_grid', 'write_epoch_summaries']


def image_grid(images, columns=None):
  """Tiles images into one picture.

  Args:
    images: `[num, height, width, channels]`; `num` must fill whole rows.
    columns: images per row (default: the integer square root of `num`).

  Returns:
    `[rows * height, columns * width, channels]` tensor of the input dtype.
  """
  num, height, width, channels = images.shape
  columns = columns or math.isqrt(num)
  rows = num // columns
  grid = tf.reshape(images[:rows * columns], [rows, columns, height, width, channels])
  grid = tf.transpose(grid, [0, 2, 1, 3, 4])
  return tf.reshape(grid, [rows * height, columns * width, channels])


def write_epoch_summaries(writer, step, train_logs, test_logs, samples):
  """Writes `train/<name>` and `test/<name>` scalars and a `samples` image grid at `step`.

  Args:
    writer: a `tf.summary` writer.
    step: global step.
    train_logs: `{name: float}`.
    test_logs: `{name: float}`.
    samples: `[num, height, width, channels]` images in [0, 1].
  """
  with writer.as_default(step=step):
    for prefix, logs in (('train', train_logs), ('test', test_logs)):
      for name, value in logs.items():
        tf.summary.scalar(f'{prefix}/{name}', value)
    tf.summary.image('samples', image_grid(samples)[None], max_outputs=1)
  writer.flush()
