"""The study runner: trains and evaluates every (configuration, seed) of a study, then reports.

`run_study(study_path, workdir, ...)` (the library side of `launch/study.py`) reads a study file
(`spreadtf.studies.study_file`) and runs each (configuration, seed), configuration-major, into
`<workdir>/<configuration>/seed=<seed>/`:

  1. training: `launch/train.py --workdir=<run> --gin_file=... --gin_bindings=...
     --gin_bindings=train.seed=<seed>` in a fresh process, unless the run's `metrics.json` says it
     finished ('completed' or 'early_stopped'). An interrupted run resumes from its checkpoints
     (the training root resumes exactly when the same command runs again);
  2. evaluation: `launch/evaluate.py --workdir=<run>` with the study's evaluation options as
     flags, in a fresh process, unless `study_eval.json` records that the run's current
     `eval.json` (by its SHA-256) was made with the same options.

A run is done when both hold; done runs are skipped (nothing of them is touched). Each run records
its resolved training config in `study_config.gin` before it runs; a run with results of another
config stops the study before anything runs (`spreadtf.sharding`). The processes' output goes to
`<run>/study_logs/train.log` and `evaluate.log` (appended, one header per attempt). A run that
fails is reported with its log and the study goes on; it exits with an error naming every failed
run at the end.

Sharding (`num_shards`, `shard_index`) is `spreadtf.sharding`'s: shard i runs the runs whose index
is i modulo N, and the shard that finds every run done, or `report_only`, writes the report
(`spreadtf.evaluation.commands.write_report`) to `<workdir>/report/`. A SLURM array runs the same
command with `--shard_index=$SLURM_ARRAY_TASK_ID`.

    runner.run_study('studies/mnist5k.gin', 'runs/mnist5k_study')
"""

import hashlib
import json
import os

from absl import logging
import gin
import tensorflow as tf

from spreadtf import files
from spreadtf import gin_parsing
from spreadtf import sharding
from spreadtf.evaluation import commands
from spreadtf.studies import launcher_process
from spreadtf.studies import study_file
from spreadtf.training import run_outputs
from spreadtf.training import workdir_layout

__all__ = ['RECORD', 'EVAL_RECORD', 'LOGS', 'REPORT', 'FINISHED', 'run_points', 'is_trained',
           'is_evaluated', 'evaluate_flags', 'run_study']

RECORD = 'study_config.gin'      # the run's resolved training config
EVAL_RECORD = 'study_eval.json'  # the evaluation options and the SHA-256 of the eval.json made
LOGS = 'study_logs'
REPORT = 'report'
# The training root's statuses of a finished run (metrics.json); 'preempted' and 'diverged' runs
# are not finished.
FINISHED = run_outputs.FINISHED


def _substitute(binding, workdir, seed):
  return binding.replace('$WORKDIR', workdir).replace('$SEED', str(seed))


def _training_args(study, configuration, seed, workdir, train_bindings):
  """`(gin_files, gin_bindings)` of one run's training, in the order train.py applies them."""
  bindings = [*study.gin_bindings, *configuration.gin_bindings, *train_bindings,
              f'train.seed = {seed}']
  return list(configuration.gin_files), [_substitute(b, workdir, seed) for b in bindings]


def run_points(study, workdir, train_bindings=()):
  """The study's runs as `spreadtf.sharding.Point`s, configuration-major.

  Each point's `config` is its resolved training config (`gin.config_str()` after parsing its
  files and bindings) and its `key` `(configuration, seed)`.

  Raises:
    FileNotFoundError, ValueError: for a missing gin file, an unknown binding or a misspelt
      macro of any configuration (`spreadtf.gin_parsing.parse`), before anything runs.
  """
  points = []
  for configuration in study.configurations:
    for seed in study.seeds_of(configuration):
      gin_files, bindings = _training_args(study, configuration, seed, workdir, train_bindings)
      try:
        gin_parsing.parse(gin_files, bindings)
        config = gin.config_str()
      except (OSError, ValueError) as e:
        raise type(e)(f'study configuration {configuration.name!r}: {e}') from e
      finally:
        gin.clear_config()
      points.append(sharding.Point(
          name=f'{configuration.name} seed={seed}',
          directory=os.path.join(workdir, configuration.name, f'seed={seed}'), config=config,
          key=(configuration.name, seed)))
  return points


def _read_json(path):
  if not tf.io.gfile.exists(path):
    return None
  try:
    with tf.io.gfile.GFile(path) as f:
      return json.load(f)
  except ValueError:
    return None


def _sha256(path):
  with tf.io.gfile.GFile(path, 'rb') as f:
    return hashlib.sha256(f.read()).hexdigest()


def is_trained(run_dir):
  """Whether the run's `metrics.json` says its training finished."""
  metrics = _read_json(workdir_layout.WorkdirLayout(run_dir).metrics)
  return bool(metrics) and metrics.get('status') in FINISHED


def is_evaluated(run_dir, options):
  """Whether the run's `eval.json` is the one recorded as made with `options`."""
  record = _read_json(os.path.join(run_dir, EVAL_RECORD))
  eval_path = workdir_layout.WorkdirLayout(run_dir).eval
  return (bool(record) and record.get('options') == options and tf.io.gfile.exists(eval_path)
          and record.get('eval_json_sha256') == _sha256(eval_path))


def evaluate_flags(options):
  """`launch/evaluate.py` flags of an options dict.

  None is left out; booleans are `--name` / `--noname`; a list is one comma-separated flag, or a
  repeated flag for `commands.REPEATED_OPTIONS` (gin_bindings).
  """
  args = []
  for name, value in sorted(options.items()):
    if value is None:
      continue
    if isinstance(value, bool):
      args.append(f'--{name}' if value else f'--no{name}')
    elif isinstance(value, (list, tuple)) and name in commands.REPEATED_OPTIONS:
      args.extend(f'--{name}={v}' for v in value)
    elif isinstance(value, (list, tuple)):
      args.append(f'--{name}={",".join(str(v) for v in value)}')
    else:
      args.append(f'--{name}={value}')
  return args


def _train(point, study, workdir, train_bindings, strategy):
  """Trains one run in a new process; returns None or the reason it failed."""
  name, seed = point.key
  configuration = study.configuration(name)
  for other in configuration.after:
    if not is_trained(os.path.join(workdir, other, f'seed={seed}')):
      return (f'it runs after {other} seed={seed}, which has not finished training (another '
              'shard may still be running it): run this shard again once it has')
  gin_files, bindings = _training_args(study, configuration, seed, workdir, train_bindings)
  log = os.path.join(point.directory, LOGS, 'train.log')
  logging.info('  training %s (log: %s)', point.name, log)
  code = launcher_process.run_launcher(
      'train.py', [f'--workdir={point.directory}', f'--strategy={strategy}',
                   *[f'--gin_file={f}' for f in gin_files],
                   *[f'--gin_bindings={b}' for b in bindings]], log)
  if code:
    return f'training exited with status {code}; see {log}'
  if not is_trained(point.directory):
    return f'training exited without a finished metrics.json; see {log}'
  return None


def _evaluate(point, options):
  """Evaluates one run in a new process and records the options; returns None or the reason."""
  log = os.path.join(point.directory, LOGS, 'evaluate.log')
  logging.info('  evaluating %s (log: %s)', point.name, log)
  code = launcher_process.run_launcher(
      'evaluate.py', [f'--workdir={point.directory}', *evaluate_flags(options)], log)
  eval_path = workdir_layout.WorkdirLayout(point.directory).eval
  if code or not tf.io.gfile.exists(eval_path):
    return f'evaluation exited with status {code}; see {log}'
  files.write_json(os.path.join(point.directory, EVAL_RECORD),
                   {'options': options, 'eval_json_sha256': _sha256(eval_path)})
  return None


def _make_job(study, workdir, train_bindings, strategy):
  """The `spreadtf.sharding.Job` of a study."""

  def options(point):
    return study.evaluation_options(study.configuration(point.key[0]))

  def run_point(point):
    if is_trained(point.directory):
      logging.info('  %s finished training before: not retrained', point.name)
    else:
      reason = _train(point, study, workdir, train_bindings, strategy)
      if reason:
        return reason
    return _evaluate(point, options(point))

  def merge(points):
    out = os.path.join(workdir, REPORT)
    commands.write_report([p.directory for p in points], out, study.comparisons)
    print(f'Wrote the report of {len(points)} runs to {os.path.join(out, "report.md")}',
          flush=True)

  return sharding.Job(
      run_point=run_point,
      is_done=lambda p: is_trained(p.directory) and is_evaluated(p.directory, options(p)),
      merge=merge, record=RECORD, results_file='metrics.json', point_title='Study run',
      what='study run', unit='runs', output='the report', merge_flag='--report_only')


def run_study(study_path, workdir, study_bindings=(), train_bindings=(), strategy='auto',
              num_shards=1, shard_index=0, report_only=False):
  """Runs this shard's runs of a study, then writes the report if every run is done.

  Args:
    study_path: the study file, relative to the repository's gin/ or absolute.
    workdir: the study directory (local or any `tf.io.gfile` path every shard can reach).
    study_bindings: gin bindings of the study file itself (e.g. 'study.seeds = [0]').
    train_bindings: extra training bindings of every run, after the study's (e.g.
      "DATA_DIR = '/data/img_align_celeba'").
    strategy: `launch/train.py --strategy` of every training run.
    num_shards: processes sharing the study.
    shard_index: this process, in `[0, num_shards)`.
    report_only: run nothing; write the report if every run is done, else raise naming the
      missing runs.

  Returns:
    0, or `launcher_process.PREEMPTED_EXIT_CODE` (42) if a SIGTERM stopped the study (run the
    same command again to continue).

  Raises:
    ValueError: for an invalid shard, a bad study file or gin input, or a run holding results of
      another configuration (before anything runs).
    RuntimeError: naming every run of this shard that failed and its log (after the others
      ran), or, under `report_only`, the runs not done.
  """
  sharding.check_shard(num_shards, shard_index)
  study = study_file.load_study(study_path, study_bindings)
  points = run_points(study, workdir, train_bindings)
  job = _make_job(study, workdir, train_bindings, strategy)
  try:
    sharding.run_shard(points, job, num_shards, shard_index, merge_only=report_only)
  except launcher_process.Preempted as e:
    logging.warning('%s The study stopped; run the same command again to resume.', e)
    return launcher_process.PREEMPTED_EXIT_CODE
  return 0
