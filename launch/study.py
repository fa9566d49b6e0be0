r"""Runs a study: trains and evaluates every (configuration, seed) of a study file, then reports.

  python launch/study.py --study=studies/mnist5k.gin --workdir=runs/mnist5k_study
  # two processes (or a cluster array job: one task per --shard_index), one workdir:
  python launch/study.py --study=studies/mnist5k.gin --workdir=runs/mnist5k_study \
      --num_shards=2 --shard_index=0 &
  python launch/study.py --study=studies/mnist5k.gin --workdir=runs/mnist5k_study \
      --num_shards=2 --shard_index=1
  python launch/study.py --study=studies/mnist5k.gin --workdir=runs/mnist5k_study --report_only

The study file (gin, under gin/studies/) names the configurations, the seeds, the evaluation
options and the declared comparisons (spreadtf/studies/study_file.py). Each run trains with
launch/train.py and is evaluated with launch/evaluate.py, each in a fresh process, into
<workdir>/<configuration>/seed=<seed>/ (logs in its study_logs/). Finished runs are skipped,
interrupted ones resume, a failed run is reported with its log and the study goes on (exiting
non-zero at the end). The shard that finds every run done, or --report_only, writes
<workdir>/report/. Running the same command again continues where it stopped; SIGTERM is passed
on to the running training, and the study exits with status 42. See spreadtf/studies/runner.py.
"""

from absl import app
from absl import flags

from spreadtf import sharding
from spreadtf import studies

__all__ = []

flags.DEFINE_string('study', None, 'The study file, relative to the repo gin/ directory (e.g. '
                    'studies/mnist5k.gin) or absolute.')
flags.DEFINE_string('workdir', None, 'Study directory (local or any tf.io.gfile path): one '
                    '<configuration>/seed=<seed>/ run per configuration and seed, and report/.')
flags.DEFINE_multi_string('gin_bindings', [], "Bindings of the study file, e.g. "
                          "'study.seeds = [0, 1]'.")
flags.DEFINE_multi_string('train_bindings', [], 'Extra training bindings of every run, e.g. '
                          "DATA_DIR='/data/img_align_celeba'.")
flags.DEFINE_string('strategy', 'auto', 'launch/train.py --strategy of every run.')
sharding.define_flags(unit='runs', job='study')
flags.DEFINE_bool('report_only', False, 'Run nothing; write the report if every run is done, '
                  'else fail naming the missing runs.')
FLAGS = flags.FLAGS


def main(argv):
  del argv
  return studies.run_study(
      FLAGS.study, FLAGS.workdir, study_bindings=FLAGS.gin_bindings,
      train_bindings=FLAGS.train_bindings, strategy=FLAGS.strategy, num_shards=FLAGS.num_shards,
      shard_index=FLAGS.shard_index, report_only=FLAGS.report_only)


if __name__ == '__main__':
  flags.mark_flags_as_required(['study', 'workdir'])
  app.run(main)
