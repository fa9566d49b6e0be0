"""Trains a delta-VAE (or the VAE baseline) from gin files.

  python launch/train.py --workdir=/tmp/run --gin_file=mnist/delta_vae_gaussian.gin \
      --gin_bindings=train.seed=0
  # seconds-long smoke run on fake data:
  python launch/train.py --workdir=/tmp/smoke --gin_file=celeba/delta_vae_gaussian.gin \
      --gin_file=smoke.gin --gin_bindings=train.seed=0

Re-running on the same workdir resumes from its latest checkpoint (a workdir of another
configuration is refused). SIGTERM saves a checkpoint at the current step and exits with status
42 (`PREEMPTED_EXIT_CODE`: not finished, run the same command again); a diverged run raises. The
root logs the gin config.
"""


from absl import app
from absl import flags
from absl import logging

from spreadtf import gin_parsing
from spreadtf.training import strategy as strategy_lib
from spreadtf.training import training_run  # Registers the gin root before parsing.

flags.DEFINE_string('workdir', None, 'Checkpoints, logs, operative config, exports.')
flags.DEFINE_multi_string('gin_file', [], 'Gin files, relative to the repo gin/ directory.')
flags.DEFINE_multi_string('gin_bindings', [], 'Extra gin bindings, applied last.')
flags.DEFINE_enum('strategy', 'auto', strategy_lib.STRATEGY_KINDS,
                  'tf.distribute strategy.')
flags.DEFINE_string('tpu', '', 'For --strategy=tpu: a Cloud TPU name or grpc://HOST:8470 '
                    "address, 'local' on a TPU VM, or '' (reads TPU_NAME).")
FLAGS = flags.FLAGS

PREEMPTED_EXIT_CODE = 42  # TensorFlow's restart code; a scheduler must not count it as done.


def main(argv):
  del argv
  gin_parsing.parse(FLAGS.gin_file, FLAGS.gin_bindings)
  strategy = strategy_lib.make_strategy(FLAGS.strategy, tpu=FLAGS.tpu)
  metrics = training_run.train(workdir=FLAGS.workdir, strategy=strategy)
  logging.info('Metrics: %s', metrics)
  return PREEMPTED_EXIT_CODE if metrics['status'] == 'preempted' else 0


if __name__ == '__main__':
  flags.mark_flag_as_required('workdir')
  app.run(main)
