"""Trains the default feature extractor of the sample-quality metrics: the mnist5k digit classifier.

  python launch/train_features.py --out=runs/features/mnist5k --epochs=15 --seed=0

Writes a SavedModel (`features(images)`, `logits(images)`, `test_accuracy`) and `classifier.json`
to --out (see spreadtf/evaluation/feature_classifier.py) and prints the test accuracy on the 1,000
held-out mnist5k digits. --out defaults to `runs/features/mnist5k` in the repository, where
launch/evaluate.py looks by default.
"""

import json
import os

from absl import app
from absl import flags
import tensorflow as tf

from spreadtf.evaluation import feature_classifier

_DEFAULT_OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            feature_classifier.DEFAULT_DIR)

flags.DEFINE_string('out', _DEFAULT_OUT, 'Output directory (SavedModel and classifier.json); '
                    'default runs/features/mnist5k in the repository.')
flags.DEFINE_integer('epochs', 15, 'Passes over the 3,500 training digits.', lower_bound=1)
flags.DEFINE_integer('seed', 0, 'Seed of the run.')
flags.DEFINE_integer('num_train', None, 'Train on this many digits (smoke runs); default all.',
                     lower_bound=10)
FLAGS = flags.FLAGS


def main(argv):
  del argv
  # Bit-identical reruns for a seed (without it, threaded reductions may differ in the last bits).
  tf.config.experimental.enable_op_determinism()
  summary = feature_classifier.train_feature_classifier(
      FLAGS.out, epochs=FLAGS.epochs, seed=FLAGS.seed, num_train=FLAGS.num_train)
  print(json.dumps(summary))
  print(f"test accuracy {summary['test_accuracy']:.4f} on {summary['num_test']} mnist5k test "
        f"digits ({summary['train_seconds']} s of training); wrote {FLAGS.out}")


if __name__ == '__main__':
  app.run(main)
