"""Writes a PNG grid of samples from an exported generator, using TensorFlow only.

  python launch/sample.py --saved_model=/tmp/run/export --num=64 --seed=0 --out=grid.png

The SavedModel's tensor-only `sample(num, seed)` endpoint needs neither spreadtf nor TFP.
"""

import math

from absl import app
from absl import flags
import tensorflow as tf

flags.DEFINE_string('saved_model', None, 'Directory of the exported generator.')
flags.DEFINE_integer('num', 64, 'Number of samples (a square number fills the grid).', lower_bound=1)
flags.DEFINE_integer('seed', 0, 'Sampling seed.')
flags.DEFINE_string('out', 'grid.png', 'Output PNG path.')
FLAGS = flags.FLAGS


def _grid(images):
  # Same tiling as spreadtf.training.summaries.image_grid (the last row padded with black tiles),
  # repeated so this script needs only TF.
  num, height, width, channels = images.shape
  columns = max(1, math.isqrt(num))
  rows = -(-num // columns)
  images = tf.concat([images, tf.zeros([rows * columns - num, height, width, channels])], 0)
  grid = tf.reshape(images, [rows, columns, height, width, channels])
  return tf.reshape(tf.transpose(grid, [0, 2, 1, 3, 4]),
                    [rows * height, columns * width, channels])


def main(argv):
  del argv
  generator = tf.saved_model.load(FLAGS.saved_model)
  images = generator.sample(tf.constant(FLAGS.num), tf.constant([FLAGS.seed, 0]))['images']
  pixels = tf.cast(tf.round(tf.clip_by_value(_grid(images), 0., 1.) * 255.), tf.uint8)
  tf.io.write_file(FLAGS.out, tf.io.encode_png(pixels))
  print(f'wrote {FLAGS.out} ({FLAGS.num} samples)')


if __name__ == '__main__':
  flags.mark_flag_as_required('saved_model')
  app.run(main)
