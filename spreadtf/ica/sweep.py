"""The ICA sweep: one gin macro over values and seeds, sharded, merged into results.csv and a plot.

`run_sweep(workdir, gin_files, ...)` (the library side of `launch/sweep.py`) reads the swept macro
and its grid from the gin files (`SWEEP_PARAMETER`, `SWEEP_VALUES`, `SWEEP_SEEDS`; `values` and
`seeds` override the grid). The points are the (value, seed) pairs, value-major. Each point runs
`spreadtf.ica.ica_run.run` into `<workdir>/<PARAMETER>=<value>/seed=<seed>/`, whose
`metrics.json` (written atomically, last) marks the point done. When every point is done, the
sweep writes `<workdir>/results.csv` and `<workdir>/error_vs_<parameter>.png` (mean +- standard
error over seeds), both atomically.

Sharding and reuse follow `spreadtf.sharding`: shard i of N runs the points whose index is i
modulo N; every point records its resolved gin config (files, bindings, value and seed; not the
shard) in `sweep_config.gin` before it runs, a done point is reused only if that record equals
its current config (otherwise the sweep stops before running anything and names the point), and
the shard that finds every point done merges (idempotent and atomic).

A missing gin file, an unknown binding or a misspelt macro stops the sweep before it writes
anything (`spreadtf.gin_parsing`).

    sweep.run_sweep('runs/fig1b', ['ica/fig1b.gin'], seeds=[0, 1],
                    gin_bindings=['run.num_iterations = 200'], num_shards=2, shard_index=0)
"""

import csv
import io
import json
import os

import gin
import tensorflow as tf

from spreadtf import files
from spreadtf import gin_parsing
from spreadtf import sharding
from spreadtf.ica import ica_run
from spreadtf.ica import plots

__all__ = ['FIELDS', 'CONFIG', 'METRICS', 'GRID_MACROS', 'sweep_points', 'merge', 'run_sweep']

FIELDS = ('relative_error', 'relative_error_rescaled', 'amari_distance', 'wall_s', 'iterations')
CONFIG = 'sweep_config.gin'
METRICS = 'metrics.json'
# The grid is read by the sweep only; unset per point so that growing the grid keeps the recorded
# configs of existing points valid.
GRID_MACROS = ('SWEEP_PARAMETER', 'SWEEP_VALUES', 'SWEEP_SEEDS')
_UNSET_GRID = [f'{macro} = None' for macro in GRID_MACROS]


def _parse_point(gin_files, bindings, parameter, value, seed):
  """Parses the config of one point and returns it resolved (`gin.config_str()`)."""
  gin.clear_config()
  gin.parse_config_files_and_bindings(
      gin_files, list(bindings) + [f'{parameter} = {value}', f'run.seed = {seed}'] + _UNSET_GRID,
      skip_unknown=False)
  return gin.config_str()


def sweep_points(workdir, gin_files, gin_bindings=(), values=None, seeds=None):
  """The sweep's swept macro and its points, value-major.

  Args:
    workdir: the sweep directory.
    gin_files: gin files (relative to the repository's gin/ or absolute) naming the grid.
    gin_bindings: extra bindings for every point.
    values: None (the gin file's `SWEEP_VALUES`) or gin literals (strings).
    seeds: None (the gin file's `SWEEP_SEEDS`) or ints.

  Returns:
    `(parameter, points)`: the macro name and a list of `spreadtf.sharding.Point`s whose `key`
    is `(value, seed)`.

  Raises:
    FileNotFoundError, ValueError: for a missing gin file, an unknown binding or a misspelt
      macro (`spreadtf.gin_parsing.parse`).
  """
  gin_parsing.parse(gin_files, list(gin_bindings), used_macros=GRID_MACROS)
  parameter = gin.query_parameter('%SWEEP_PARAMETER')
  values = list(values or [repr(v) for v in gin.query_parameter('%SWEEP_VALUES')])
  seeds = [int(s) for s in (seeds or gin.query_parameter('%SWEEP_SEEDS'))]
  points = [sharding.Point(name=f'{parameter} = {value}, seed {seed}',
                           directory=os.path.join(workdir, f'{parameter}={value}',
                                                  f'seed={seed}'),
                           config=_parse_point(gin_files, gin_bindings, parameter, value, seed),
                           key=(value, seed))
            for value in values for seed in seeds]
  return parameter, points


def _read_json(path):
  with tf.io.gfile.GFile(path) as f:
    return json.load(f)


def merge(workdir, parameter, points):
  """Writes results.csv and the plot from every point's metrics.json; returns the row count."""
  rows = []
  for point in points:
    value, seed = point.key
    for method, result in _read_json(os.path.join(point.directory, METRICS)).items():
      rows.append(dict(parameter=parameter, value=value, seed=seed, method=method,
                       **{k: result[k] for k in FIELDS}))
  table = io.StringIO(newline='')
  writer = csv.DictWriter(table, fieldnames=['parameter', 'value', 'seed', 'method', *FIELDS])
  writer.writeheader()
  writer.writerows(rows)
  files.write_text(os.path.join(workdir, 'results.csv'), table.getvalue())
  files.write_bytes(os.path.join(workdir, f'error_vs_{parameter.lower()}.png'),
                    plots.error_vs_parameter(rows, parameter))
  return len(rows)


def run_sweep(workdir, gin_files, gin_bindings=(), values=None, seeds=None, num_shards=1,
              shard_index=0, merge_only=False):
  """Runs this shard's points of the sweep, then merges if every point is done.

  Args:
    workdir: the sweep directory (local or any `tf.io.gfile` path every shard can reach).
    gin_files: gin files naming the grid (see `sweep_points`).
    gin_bindings: extra bindings for every point.
    values: None or gin literals overriding `SWEEP_VALUES`.
    seeds: None or ints overriding `SWEEP_SEEDS`.
    num_shards: processes sharing the sweep.
    shard_index: this process, in `[0, num_shards)`.
    merge_only: run no point; merge if every point is done, else raise naming the missing ones.

  Returns:
    A `spreadtf.sharding.ShardResult`. Prints 'Wrote N rows to <workdir>/results.csv' when this
    shard merged, else the points that are not done yet.

  Raises:
    ValueError: for an invalid shard, bad gin input, or a point holding results of another
      configuration (before any point runs).
    RuntimeError: under `merge_only`, when points are missing.
  """
  sharding.check_shard(num_shards, shard_index)
  parameter, points = sweep_points(workdir, gin_files, gin_bindings, values, seeds)
  merged_rows = []

  def run_point(point):
    _parse_point(gin_files, gin_bindings, parameter, *point.key)
    ica_run.run(workdir=point.directory)

  job = sharding.Job(
      run_point=run_point,
      is_done=lambda point: tf.io.gfile.exists(os.path.join(point.directory, METRICS)),
      merge=lambda points: merged_rows.append(merge(workdir, parameter, points)),
      record=CONFIG, results_file=METRICS, point_title='Sweep point', what='sweep point',
      unit='points', output='results.csv', merge_flag='--merge')
  result = sharding.run_shard(points, job, num_shards, shard_index, merge_only)
  if merged_rows:
    print(f'Wrote {merged_rows[0]} rows to {os.path.join(workdir, "results.csv")}')
  return result
