r"""Sweeps one gin macro over values and seeds, then writes results.csv and the paper-style plot.

  python launch/sweep.py --gin_file=ica/fig1a.gin --workdir=runs/fig1a
  python launch/sweep.py --gin_file=ica/fig1b.gin --workdir=runs/fig1b --seeds=0,1 \
      --gin_bindings='run.num_iterations = 200'

The gin files name the swept macro and its grid (SWEEP_PARAMETER, SWEEP_VALUES, SWEEP_SEEDS);
--values and --seeds override the grid. Each point runs spreadtf.ica.experiment.run into
<workdir>/<PARAMETER>=<value>/seed=<seed>/, then <workdir>/results.csv and
<workdir>/error_vs_<parameter>.png (mean +- standard error over seeds).

Each point records its resolved gin config (files, bindings, value and seed) in sweep_config.gin
before it runs. A point whose metrics.json exists is reused only if that record equals the
point's current config; otherwise (or if the record is missing) the sweep stops before running
anything and names the point, so one workdir never mixes results of different configs.
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

from spreadtf import files
from spreadtf.ica import experiment
from spreadtf.ica import plots

__all__ = []

_GIN_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'gin')
_FIELDS = ('relative_error', 'relative_error_rescaled', 'amari_distance', 'wall_s', 'iterations')
_CONFIG = 'sweep_config.gin'
# The grid is read by this launcher only; unset per point so that growing the grid keeps the
# recorded configs of existing points valid.
_UNSET_GRID = ['SWEEP_PARAMETER = None', 'SWEEP_VALUES = None', 'SWEEP_SEEDS = None']

flags.DEFINE_string('workdir', None, 'Sweep directory: one sub-directory per run, csv, plot.')
flags.DEFINE_multi_string('gin_file', [], 'Gin files, relative to the repo gin/ directory.')
flags.DEFINE_multi_string('gin_bindings', [], 'Extra gin bindings for every run.')
flags.DEFINE_list('values', None, 'Override SWEEP_VALUES (gin literals).')
flags.DEFINE_list('seeds', None, 'Override SWEEP_SEEDS (ints).')
FLAGS = flags.FLAGS


def _parse(files, bindings):
  gin.clear_config()
  gin.parse_config_files_and_bindings(files, bindings, skip_unknown=False)


def _parse_point(files, bindings, parameter, value, seed):
  """Parses the config of one point and returns it resolved (`gin.config_str()`)."""
  _parse(files, bindings + [f'{parameter} = {value}', f'run.seed = {seed}'] + _UNSET_GRID)
  return gin.config_str()


def _check_reusable(workdir, config):
  """Raises ValueError if `workdir` holds results whose recorded config is not `config`."""
  if not os.path.exists(os.path.join(workdir, 'metrics.json')):
    return
  path = os.path.join(workdir, _CONFIG)
  recorded = None
  if os.path.exists(path):
    with open(path) as f:
      recorded = f.read()
  if recorded == config:
    return
  if recorded is None:
    reason = f'it has metrics.json but no {_CONFIG}'
  else:
    diff = list(difflib.unified_diff(recorded.splitlines(), config.splitlines(), 'recorded',
                                     'current', lineterm='', n=0))
    reason = 'its recorded config differs:\n' + '\n'.join(diff[:40])
  raise ValueError(f'sweep point {workdir} holds results of another configuration ({reason})\n'
                   'Use a new --workdir (or delete that point directory) to rerun.')


def main(argv):
  del argv
  gin.add_config_file_search_path(_GIN_DIR)
  _parse(FLAGS.gin_file, FLAGS.gin_bindings)
  parameter = gin.query_parameter('%SWEEP_PARAMETER')
  values = FLAGS.values or [repr(v) for v in gin.query_parameter('%SWEEP_VALUES')]
  seeds = [int(s) for s in (FLAGS.seeds or gin.query_parameter('%SWEEP_SEEDS'))]
  points = [(value, seed, os.path.join(FLAGS.workdir, f'{parameter}={value}', f'seed={seed}'))
            for value in values for seed in seeds]
  for value, seed, workdir in points:   # check every reused point before running any
    _check_reusable(workdir, _parse_point(FLAGS.gin_file, FLAGS.gin_bindings, parameter, value,
                                          seed))
  rows = []
  for value, seed, workdir in points:
    path = os.path.join(workdir, 'metrics.json')
    if os.path.exists(path):
      with open(path) as f:
        results = json.load(f)
    else:
      logging.info('Sweep point %s = %s, seed %d', parameter, value, seed)
      config = _parse_point(FLAGS.gin_file, FLAGS.gin_bindings, parameter, value, seed)
      os.makedirs(workdir, exist_ok=True)
      files.write_text(os.path.join(workdir, _CONFIG), config)
      results = experiment.run(workdir=workdir)
    for method, result in results.items():
      rows.append(dict(parameter=parameter, value=value, seed=seed, method=method,
                       **{k: result[k] for k in _FIELDS}))
  table = io.StringIO(newline='')
  writer = csv.DictWriter(table, fieldnames=['parameter', 'value', 'seed', 'method', *_FIELDS])
  writer.writeheader()
  writer.writerows(rows)
  files.write_text(os.path.join(FLAGS.workdir, 'results.csv'), table.getvalue())
  files.write_bytes(os.path.join(FLAGS.workdir, f'error_vs_{parameter.lower()}.png'),
                    plots.error_vs_parameter(rows, parameter))
  print(f'Wrote {len(rows)} rows to {os.path.join(FLAGS.workdir, "results.csv")}')


if __name__ == '__main__':
  flags.mark_flag_as_required('workdir')
  app.run(main)
