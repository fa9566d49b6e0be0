"""TensorBoard output of a run: scalar metrics, image grids, and the learned-spread diagnostics."""

import tensorflow as tf

from spreadtf import images as images_lib
from spreadtf.training import run_inputs

__all__ = ['image_grid', 'to_png', 'eigenvector_images', 'write_epoch_summaries',
           'write_spread_summaries']


# The TF-only tiling lives in spreadtf.images (launch/sample.py uses it without TFP).
image_grid = images_lib.image_grid
to_png = images_lib.to_png


def write_epoch_summaries(writer, step, train_logs, held_out_logs, samples):
  """Writes `train/<name>` and held-out scalars and a `samples` image grid at `step`.

  Args:
    writer: a `tf.summary` writer.
    step: global step.
    train_logs: `{name: float or None}` (None, a mean over no applied step, is not written).
    held_out_logs: `{name: float or None}`.
    samples: `[num, height, width, channels]` images in [0, 1].
  """
  with writer.as_default(step=step):
    for prefix, logs in (('train', train_logs), (run_inputs.HELD_OUT_SPLIT, held_out_logs)):
      for name, value in logs.items():
        if value is not None:
          tf.summary.scalar(f'{prefix}/{name}', value)
    tf.summary.image('samples', image_grid(samples)[None], max_outputs=1)
  writer.flush()


def eigenvector_images(spread, image_shape, num):
  """The paper's Fig. 2(d) diagnostic: |v_k| of the learned covariance's leading eigenvectors.

  Args:
    spread: a kernel with `principal_directions(k)` (e.g. `LowRankGaussianSpread`), whose events
      have `image_shape`.
    image_shape: `(height, width, channels)` of one event.
    num: number of leading eigenvectors, at most the spread's rank.

  Returns:
    `[num + 1, height, width, channels]` float32 in [0, 1]: the absolute value of each of the
    `num` leading eigenvectors of L L^T (the same as those of s^2 I + L L^T), each divided by its
    maximum, followed by their mean absolute value (the paper's single image), likewise scaled.
  """
  _, vectors = spread.principal_directions(num)
  images = tf.reshape(tf.transpose(tf.abs(vectors)), [num] + list(image_shape))
  images = tf.concat([images, tf.reduce_mean(images, axis=0, keepdims=True)], axis=0)
  peak = tf.reduce_max(images, axis=list(range(1, len(image_shape) + 1)), keepdims=True)
  return tf.cast(images / tf.maximum(peak, 1e-12), tf.float32)


def write_spread_summaries(writer, step, phase_logs, eigenvectors=None):
  """Writes a spread phase's `spread/<name>` scalars and, if given, an eigenvector grid.

  Args:
    writer: a `tf.summary` writer.
    step: the model step before which the phase ran.
    phase_logs: `{name: float}`, e.g. `objective_before`, `objective_after`, `spread_steps`.
    eigenvectors: None or `[num, height, width, channels]` images (see `eigenvector_images`).
  """
  with writer.as_default(step=step):
    for name, value in phase_logs.items():
      tf.summary.scalar(f'spread/{name}', value)
    if eigenvectors is not None:
      tf.summary.image('spread/eigenvectors', image_grid(eigenvectors)[None], max_outputs=1)
  writer.flush()
