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
--values and --seeds override the grid. The points are the (value, seed) pairs, value-major. Each
point runs spreadtf.ica.ica_run.run into <workdir>/<PARAMETER>=<value>/seed=<seed>/, whose
metrics.json (written atomically, last) marks the point done. When every point is done, the sweep
writes <workdir>/results.csv and <workdir>/error_vs_<parameter>.png (mean +- standard error over
seeds), both atomically.

Sharding: with --num_shards=N, shard i runs the points whose index is i modulo N (round-robin, so
every shard gets a share of the cheap and the expensive values). All shards get the same flags
except --shard_index. There is no lock service: after its own points, every shard checks whether
all points are done and, if so, merges. The shard that checks last always sees every result
(each shard's results exist before its check), and merging is idempotent (the same files from the
same results) and atomic, so two shards merging at once is harmless. If a shard failed, rerun it
(done points are reused) or run --merge once all points are done.

A missing gin file, an unknown binding or a misspelt macro stops the sweep before it writes
anything (spreadtf/gin_parsing.py). Each point records its resolved gin config (files, bindings,
value and seed; not the shard) in sweep_config.gin before it runs. A point whose metrics.json exists
is reused only if that record equals the point's current config; otherwise (or if the record is
missing) the sweep stops before running anything and names the point, so one workdir never mixes
results of different configs. Every shard checks every point before running, and the merge
checks them all again.
"""

import csv
import difflib
import io
import json
import os

from absl import app
from absl import flags
from absl import logging
import gin
import tensorflow as tf

from spreadtf import files
from spreadtf import gin_parsing
from spreadtf.ica import ica_run
from spreadtf.ica import plots

__all__ = []

_FIELDS = ('relative_error', 'relative_error_rescaled', 'amari_distance', 'wall_s', 'iterations')
_CONFIG = 'sweep_config.gin'
_METRICS = 'metrics.json'
# The grid is read by this launcher only; unset per point so that growing the grid keeps the
# recorded configs of existing points valid.
_GRID = ('SWEEP_PARAMETER', 'SWEEP_VALUES', 'SWEEP_SEEDS')
_UNSET_GRID = [f'{macro} = None' for macro in _GRID]

flags.DEFINE_string('workdir', None, 'Sweep directory (local or any tf.io.gfile path): one '
                    'sub-directory per point, results.csv, plot.')
flags.DEFINE_multi_string('gin_file', [], 'Gin files, relative to the repo gin/ directory.')
flags.DEFINE_multi_string('gin_bindings', [], 'Extra gin bindings for every run.')
flags.DEFINE_list('values', None, 'Override SWEEP_VALUES (gin literals).')
flags.DEFINE_list('seeds', None, 'Override SWEEP_SEEDS (ints).')
flags.DEFINE_integer('num_shards', 1, 'Number of processes sharing the sweep.', lower_bound=1)
flags.DEFINE_integer('shard_index', 0, 'This process: runs the points whose index is '
                     'shard_index modulo num_shards. Pass it explicitly, e.g. '
                     '$SLURM_ARRAY_TASK_ID (with --array=0-<N-1>) or $JOB_COMPLETION_INDEX.',
                     lower_bound=0)
flags.DEFINE_bool('merge', False, 'Run no point; write results.csv and the plot if every point '
                  'is done, else fail naming the missing points.')
FLAGS = flags.FLAGS


def _parse(gin_files, bindings):
  gin.clear_config()
  gin.parse_config_files_and_bindings(gin_files, bindings, skip_unknown=False)


def _parse_point(gin_files, bindings, parameter, value, seed):
  """Parses the config of one point and returns it resolved (`gin.config_str()`)."""
  _parse(gin_files, bindings + [f'{parameter} = {value}', f'run.seed = {seed}'] + _UNSET_GRID)
  return gin.config_str()


def _read(path):
  """The text of `path`, or None if it does not exist."""
  if not tf.io.gfile.exists(path):
    return None
  with tf.io.gfile.GFile(path) as f:
    return f.read()


def _check_reusable(workdir, resolved):
  """Raises ValueError if `workdir` holds results whose recorded config is not `resolved`."""
  if not tf.io.gfile.exists(os.path.join(workdir, _METRICS)):
    return
  recorded = _read(os.path.join(workdir, _CONFIG))
  if recorded == resolved:
    return
  if recorded is None:
    reason = f'it has {_METRICS} but no {_CONFIG}'
  else:
    diff = list(difflib.unified_diff(recorded.splitlines(), resolved.splitlines(), 'recorded',
                                     'current', lineterm='', n=0))
    reason = 'its recorded config differs:\n' + '\n'.join(diff[:40])
  raise ValueError(f'sweep point {workdir} holds results of another configuration ({reason})\n'
                   'Use a new --workdir (or delete that point directory) to rerun.')


def _merge(sweep_dir, parameter, points):
  """Writes results.csv and the plot from every point's metrics.json; returns the row count."""
  rows = []
  for value, seed, workdir, _ in points:
    results = json.loads(_read(os.path.join(workdir, _METRICS)))
    for method, result in results.items():
      rows.append(dict(parameter=parameter, value=value, seed=seed, method=method,
                       **{k: result[k] for k in _FIELDS}))
  table = io.StringIO(newline='')
  writer = csv.DictWriter(table, fieldnames=['parameter', 'value', 'seed', 'method', *_FIELDS])
  writer.writeheader()
  writer.writerows(rows)
  files.write_text(os.path.join(sweep_dir, 'results.csv'), table.getvalue())
  files.write_bytes(os.path.join(sweep_dir, f'error_vs_{parameter.lower()}.png'),
                    plots.error_vs_parameter(rows, parameter))
  return len(rows)


def main(argv):
  del argv
  if FLAGS.shard_index >= FLAGS.num_shards:
    raise app.UsageError(f'--shard_index={FLAGS.shard_index} must be below '
                         f'--num_shards={FLAGS.num_shards} (shards count from 0).')
  gin_parsing.parse(FLAGS.gin_file, FLAGS.gin_bindings, used_macros=_GRID)
  parameter = gin.query_parameter('%SWEEP_PARAMETER')
  values = FLAGS.values or [repr(v) for v in gin.query_parameter('%SWEEP_VALUES')]
  seeds = [int(s) for s in (FLAGS.seeds or gin.query_parameter('%SWEEP_SEEDS'))]
  points = [(value, seed, os.path.join(FLAGS.workdir, f'{parameter}={value}', f'seed={seed}'),
             _parse_point(FLAGS.gin_file, FLAGS.gin_bindings, parameter, value, seed))
            for value in values for seed in seeds]
  for _, _, workdir, resolved in points:   # check every reused point before running any
    _check_reusable(workdir, resolved)
  if not FLAGS.merge:
    mine = points[FLAGS.shard_index::FLAGS.num_shards]
    logging.info('Shard %d of %d: %d of %d points', FLAGS.shard_index, FLAGS.num_shards,
                 len(mine), len(points))
    for value, seed, workdir, resolved in mine:
      if tf.io.gfile.exists(os.path.join(workdir, _METRICS)):
        continue
      logging.info('Sweep point %s = %s, seed %d', parameter, value, seed)
      tf.io.gfile.makedirs(workdir)
      files.write_text(os.path.join(workdir, _CONFIG), resolved)
      _parse_point(FLAGS.gin_file, FLAGS.gin_bindings, parameter, value, seed)
      ica_run.run(workdir=workdir)
  missing = [(index, workdir) for index, (_, _, workdir, _) in enumerate(points)
             if not tf.io.gfile.exists(os.path.join(workdir, _METRICS))]
  if missing:
    listing = '\n'.join(f'  {workdir} (shard {index % FLAGS.num_shards})'
                        for index, workdir in missing[:20])
    message = (f'{len(missing)} of {len(points)} points are not done yet; the last shard to '
               f'finish (or --merge) writes results.csv:\n{listing}')
    if FLAGS.merge:
      raise RuntimeError(message + '\nRun the shards that own them (done points are reused), '
                         'then --merge again.')
    print(message)
    return
  for _, _, workdir, resolved in points:   # the other shards' points, now that all are done
    _check_reusable(workdir, resolved)
  num_rows = _merge(FLAGS.workdir, parameter, points)
  print(f'Wrote {num_rows} rows to {os.path.join(FLAGS.workdir, "results.csv")}')


if __name__ == '__main__':
  flags.mark_flag_as_required('workdir')
  app.run(main)
