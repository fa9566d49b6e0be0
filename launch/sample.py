"""Writes a PNG grid of samples from an exported generator, using TensorFlow only.

  python launch/sample.py --saved_model=/tmp/run/export --num=64 --seed=0 --out=grid.png

The SavedModel's tensor-only `sample(num, seed)` endpoint needs neither TFP nor Keras, and the
spreadtf modules used here (`files`, `images`, `training.workdir_layout`) import TensorFlow only,
so this runs where TFP is not installed.
"""

from absl import app
from absl import flags
import tensorflow as tf

from spreadtf import files
from spreadtf import images
from spreadtf.training import workdir_layout

flags.DEFINE_string('saved_model', None, 'Directory of the exported generator (<workdir>/export).')
flags.DEFINE_integer('num', 64, 'Number of samples (a square number fills the grid).',
                     lower_bound=1)
flags.DEFINE_integer('seed', 0, 'Sampling seed.')
flags.DEFINE_string('out', 'grid.png', 'Output PNG path.')
FLAGS = flags.FLAGS


def _load_generator(path):
  """Loads the SavedModel at `path`; raises ValueError saying what to pass instead."""
  if not tf.saved_model.contains_saved_model(path):
    hint = ('pass the export/ directory that launch/train.py writes at the end of a run, e.g. '
            '--saved_model=runs/mnist/export')
    export = workdir_layout.WorkdirLayout(path).export
    if tf.saved_model.contains_saved_model(export):
      hint = f'that looks like a training workdir: pass --saved_model={export}'
    raise ValueError(f'--saved_model={path!r} is not a SavedModel directory (no saved_model.pb '
                     f'in it); {hint}.')
  generator = tf.saved_model.load(path)
  if not hasattr(generator, 'sample'):
    raise ValueError(f'the SavedModel at {path!r} has no sample(num, seed) endpoint: it is not a '
                     'generator exported by spreadtf.export.export_generator (launch/train.py).')
  return generator


def main(argv):
  del argv
  generator = _load_generator(FLAGS.saved_model)
  samples = generator.sample(tf.constant(FLAGS.num), tf.constant([FLAGS.seed, 0]))['images']
  files.write_bytes(FLAGS.out, images.to_png(images.image_grid(samples)).numpy())
  print(f'wrote {FLAGS.out} ({FLAGS.num} samples)')


if __name__ == '__main__':
  flags.mark_flag_as_required('saved_model')
  app.run(main)
