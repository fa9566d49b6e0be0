"""Trains a feature extractor of the sample-quality metrics on the mnist5k training digits.

The shipped weights (spreadtf/evaluation/weights/, pinned by SHA-256 in
spreadtf/evaluation/shipped_features.py) were written by these two commands, from the repository
root, with TensorFlow op determinism on (this launcher turns it on):

  python launch/train_features.py --extractor=classifier --seed=0 --epochs=15 \
      --out=spreadtf/evaluation/weights
  python launch/train_features.py --extractor=autoencoder --seed=0 --epochs=20 \
      --out=spreadtf/evaluation/weights

Nobody needs to run them to evaluate: launch/evaluate.py uses the shipped files. Each writes
<name>.weights.h5 and <name>.json to --out (default runs/features in the repository, so the
shipped files are not overwritten by accident) and prints the file's SHA-256 and whether it is
byte for byte the shipped one. Another machine may round differently and give other bytes; to
ship new weights, write them to spreadtf/evaluation/weights and pin the printed SHA-256.
"""

import json
import os

from absl import app
from absl import flags
import tensorflow as tf

from spreadtf.evaluation import shipped_features

_DEFAULT_OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'runs',
                            'features')

flags.DEFINE_enum('extractor', 'classifier', sorted(shipped_features.SHIPPED),
                  'Which network: the digit classifier (default view) or the autoencoder '
                  '(blur-sensitive view).')
flags.DEFINE_string('out', _DEFAULT_OUT, 'Output directory; spreadtf/evaluation/weights to '
                    'replace the shipped file.')
flags.DEFINE_integer('epochs', None, 'Passes over the training digits (default: those of the '
                     'shipped file: 15 for the classifier, 20 for the autoencoder).', lower_bound=1)
flags.DEFINE_integer('seed', 0, 'Seed of the run.')
flags.DEFINE_integer('num_train', None, 'Train on this many digits (smoke runs); default all.',
                     lower_bound=10)
FLAGS = flags.FLAGS


def main(argv):
  del argv
  # Bit-identical reruns for a seed (without it, threaded reductions may differ in the last bits).
  tf.config.experimental.enable_op_determinism()
  summary = shipped_features.train_view(FLAGS.extractor, FLAGS.out, seed=FLAGS.seed,
                                        epochs=FLAGS.epochs, num_train=FLAGS.num_train)
  print(json.dumps(summary))
  verdict = ('byte for byte the shipped file' if summary['matches_pinned'] else
             f"not the shipped file (pinned {summary['pinned_sha256']})")
  print(f"wrote {summary['weights']}: SHA-256 {summary['sha256']}, {verdict}")


if __name__ == '__main__':
  app.run(main)
