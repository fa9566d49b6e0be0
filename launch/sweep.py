r"""Sweeps one gin macro over values and seeds, then writes results.csv and the paper-style plot.

  python launch/sweep.py --gin_file=ica/fig1a.gin --workdir=runs/fig1a
  python launch/sweep.py --gin_file=ica/fig1b.gin --workdir=runs/fig1b --seeds=0,1 \
      --gin_bindings='run.num_iterations = 200'
  # two processes (or a cluster array job: one task per --shard_index), one workdir:
  python launch/sweep.py --gin_file=ica/fig1b.gin --workdir=runs/fig1b \
      --num_shards=2 --shard_index=0 &
  python launch/sweep.py --gin_file=ica/fig1b.gin --workdir=runs/fig1b \
      --num_shards=2 --shard_index=1

The gin files name the swept macro and its grid (SWEEP_PARAMETER, SWEEP_VALUES, SWEEP_SEEDS);
--values and --seeds override the grid. Each (value, seed) point runs the ICA root into
<workdir>/<PARAMETER>=<value>/seed=<seed>/; the shard that finds every point done writes
<workdir>/results.csv and <workdir>/error_vs_<parameter>.png. All shards get the same flags
except --shard_index; a point of another config stops every shard before it runs anything. See
spreadtf/ica/sweep.py and spreadtf/sharding.py.
"""

from absl import app
from absl import flags

from spreadtf import sharding
from spreadtf.ica import sweep

__all__ = []

flags.DEFINE_string('workdir', None, 'Sweep directory (local or any tf.io.gfile path): one '
                    'sub-directory per point, results.csv, plot.')
flags.DEFINE_multi_string('gin_file', [], 'Gin files, relative to the repo gin/ directory.')
flags.DEFINE_multi_string('gin_bindings', [], 'Extra gin bindings for every run.')
flags.DEFINE_list('values', None, 'Override SWEEP_VALUES (gin literals).')
flags.DEFINE_list('seeds', None, 'Override SWEEP_SEEDS (ints).')
sharding.define_flags(unit='points', job='sweep')
flags.DEFINE_bool('merge', False, 'Run no point; write results.csv and the plot if every point '
                  'is done, else fail naming the missing points.')
FLAGS = flags.FLAGS


def main(argv):
  del argv
  sweep.run_sweep(FLAGS.workdir, FLAGS.gin_file, FLAGS.gin_bindings, values=FLAGS.values,
                  seeds=FLAGS.seeds, num_shards=FLAGS.num_shards, shard_index=FLAGS.shard_index,
                  merge_only=FLAGS.merge)


if __name__ == '__main__':
  flags.mark_flag_as_required('workdir')
  app.run(main)
