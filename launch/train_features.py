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
ship new weights, write them to spreadtf/evaluation/weights and pin the printed SHA-256
(spreadtf.evaluation.commands.train_features).
"""

from absl import app
from absl import flags

from spreadtf.evaluation import commands
from spreadtf.evaluation import shipped_features

__all__ = []

flags.DEFINE_enum('extractor', 'classifier', sorted(shipped_features.SHIPPED),
                  'Which network: the digit classifier (default view) or the autoencoder '
                  '(blur-sensitive view).')
flags.DEFINE_string('out', commands.DEFAULT_FEATURES_OUT, 'Output directory; '
                    'spreadtf/evaluation/weights to replace the shipped file.')
flags.DEFINE_integer('epochs', None, 'Passes over the training digits (default: those of the '
                     'shipped file: 15 for the classifier, 20 for the autoencoder).', lower_bound=1)
flags.DEFINE_integer('seed', 0, 'Seed of the run.')
flags.DEFINE_integer('num_train', None, 'Train on this many digits (smoke runs); default all.',
                     lower_bound=10)
FLAGS = flags.FLAGS


def main(argv):
  del argv
  commands.train_features(FLAGS.extractor, FLAGS.out, seed=FLAGS.seed, epochs=FLAGS.epochs,
                          num_train=FLAGS.num_train)


if __name__ == '__main__':
  app.run(main)
