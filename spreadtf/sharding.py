"""Sharded jobs: N processes share one list of points and one workdir, with no lock service.

A job is a list of `Point`s (each: a name, a directory, the resolved configuration it runs) run by
`run_shard`, the one implementation behind the ICA sweep (`spreadtf.ica.sweep`) and the study
runner (`spreadtf.studies`). With `num_shards=N`, shard i runs the points whose index in the list
is i modulo N (round-robin, so every shard gets a share of the cheap and the expensive ones);
every shard is given the same list. The protocol:

  1. Before it runs anything, every shard checks every point that has results (its results file
     exists) against its record (`<directory>/<record>`, the resolved configuration written just
     before the point ran): a point of another configuration, or one without a record, stops the
     shard with an error naming it, so one workdir never mixes configurations.
  2. The shard runs its points that are not done, in order, logging which point, how many are
     left and the time so far. A point that fails (its runner returns a reason) is reported and
     the shard goes on; the shard raises at the end, naming every failure.
  3. After its own points, every shard checks whether all points are done and, if so, checks
     every record again and merges. The shard that checks last sees every result (each shard's
     results exist before its own check), and merging must be idempotent (the same files from the
     same results) and atomic (`spreadtf.files`), so two shards merging at once is harmless.
     `merge_only` runs no point and fails naming the missing points and their shards.

`--shard_index` has no default from the environment (SLURM array ids need not start at 0), so
launchers pass it explicitly; `define_flags` defines both flags with that advice and a validator.

    points = [sharding.Point(f'seed {s}', f'{workdir}/seed={s}', config(s)) for s in seeds]
    sharding.run_shard(points, sharding.Job(run_point=..., is_done=..., merge=...),
                       num_shards=2, shard_index=0)
"""

import dataclasses
import difflib
import os
import time

from absl import flags
from absl import logging
import tensorflow as tf

from spreadtf import files

__all__ = ['Point', 'Job', 'ShardResult', 'shard_error', 'check_shard', 'define_flags',
           'shard_points', 'check_reusable', 'missing_points', 'run_shard']


@dataclasses.dataclass(frozen=True)
class Point:
  """One unit of a sharded job.

  Attributes:
    name: how progress messages name it, e.g. 'NUM_POINTS = 100, seed 0'.
    directory: where it writes its results and its record (local or any `tf.io.gfile` path).
    config: its resolved configuration (text), recorded before it runs and compared whenever
      its results are reused.
    key: what the job's runner needs to run it, e.g. `(value, seed)`.
  """
  name: str
  directory: str
  config: str
  key: tuple = ()


@dataclasses.dataclass(frozen=True)
class Job:
  """What a sharded job does with its points, and how its messages name things.

  Attributes:
    run_point: `fn(point) -> None | str`: runs one point (its directory and record exist);
      returns None when it succeeded, else the reason it failed (the shard goes on). An
      exception stops the shard.
    is_done: `fn(point) -> bool`: whether the point's results are complete.
    merge: `fn(points) -> None`: writes the job's merged output from every point's results;
      idempotent and atomic. Called only when every point is done.
    record: the file name of a point's recorded configuration.
    results_file: the file whose existence means a point has results to protect from a run of
      another configuration.
    point_title: how progress messages start, e.g. 'Sweep point'.
    what: how errors name a point, e.g. 'sweep point'.
    unit: the plural of a point, e.g. 'points'.
    output: what the merge writes, e.g. 'results.csv'.
    merge_flag: the launcher flag that only merges, e.g. '--merge'.
  """
  run_point: object
  is_done: object
  merge: object
  record: str = 'config.gin'
  results_file: str = 'metrics.json'
  point_title: str = 'Point'
  what: str = 'point'
  unit: str = 'points'
  output: str = 'the merged results'
  merge_flag: str = '--merge'


@dataclasses.dataclass(frozen=True)
class ShardResult:
  """What `run_shard` did.

  Attributes:
    ran: names of the points this shard ran (successfully or not).
    failed: `[(name, reason)]` of the points that failed.
    missing: `[(index, point)]` of the points not done after this shard's own points.
    merged: whether this shard wrote the merged output.
  """
  ran: tuple
  failed: tuple
  missing: tuple
  merged: bool


def shard_error(num_shards, shard_index):
  """The error message of an invalid shard, or None if `shard_index` is in `[0, num_shards)`."""
  if num_shards < 1:
    return f'--num_shards={num_shards} must be at least 1.'
  if not 0 <= shard_index < num_shards:
    return (f'--shard_index={shard_index} must be below --num_shards={num_shards} (shards count '
            'from 0).')
  return None


def check_shard(num_shards, shard_index):
  """Raises ValueError naming both flags unless `0 <= shard_index < num_shards`."""
  message = shard_error(num_shards, shard_index)
  if message:
    raise ValueError(message)


def define_flags(unit='points', job='job', flag_values=flags.FLAGS):
  """Defines `--num_shards` and `--shard_index` and a validator of the pair.

  Args:
    unit: what the shards share, for the help text (e.g. 'points', 'runs').
    job: what the processes share (e.g. 'sweep', 'study').
    flag_values: the `absl.flags.FlagValues` to define them in.
  """
  flags.DEFINE_integer('num_shards', 1, f'Number of processes sharing the {job}.', lower_bound=1,
                       flag_values=flag_values)
  flags.DEFINE_integer('shard_index', 0, f'This process: runs the {unit} whose index is '
                       'shard_index modulo num_shards. Pass it explicitly, e.g. '
                       '$SLURM_ARRAY_TASK_ID (with --array=0-<N-1>) or $JOB_COMPLETION_INDEX.',
                       lower_bound=0, flag_values=flag_values)

  def validate(values):
    message = shard_error(values['num_shards'], values['shard_index'])
    if message:
      raise flags.ValidationError(message)
    return True

  flags.register_multi_flags_validator(['num_shards', 'shard_index'], validate,
                                       flag_values=flag_values)


def shard_points(points, num_shards, shard_index):
  """The points shard `shard_index` of `num_shards` runs: indices `shard_index` modulo N."""
  check_shard(num_shards, shard_index)
  return list(points)[shard_index::num_shards]


def _read(path):
  """The text of `path`, or None if it does not exist."""
  if not tf.io.gfile.exists(path):
    return None
  with tf.io.gfile.GFile(path) as f:
    return f.read()


def check_reusable(point, job):
  """Raises ValueError if `point` holds results whose recorded configuration is not its own.

  Args:
    point: a `Point`.
    job: its `Job` (the record and results file names, how errors name a point).

  Raises:
    ValueError: naming the point's directory and the difference (or the missing record), and
      saying to use a new workdir.
  """
  if not tf.io.gfile.exists(os.path.join(point.directory, job.results_file)):
    return
  recorded = _read(os.path.join(point.directory, job.record))
  if recorded == point.config:
    return
  if recorded is None:
    reason = f'it has {job.results_file} but no {job.record}'
  else:
    diff = list(difflib.unified_diff(recorded.splitlines(), point.config.splitlines(),
                                     'recorded', 'current', lineterm='', n=0))
    reason = 'its recorded config differs:\n' + '\n'.join(diff[:40])
  raise ValueError(f'{job.what} {point.directory} holds results of another configuration '
                   f'({reason})\nUse a new --workdir (or delete that {job.what.split()[-1]} '
                   'directory) to rerun.')


def missing_points(points, job):
  """`[(index, point)]` of the points that are not done."""
  return [(index, point) for index, point in enumerate(points) if not job.is_done(point)]


def _duration(seconds):
  seconds = int(seconds)
  return f'{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}'


def _run_own_points(points, job, num_shards, shard_index):
  """Runs this shard's points that are not done; returns (ran, failed)."""
  mine = shard_points(points, num_shards, shard_index)
  todo = [point for point in mine if not job.is_done(point)]
  logging.info('Shard %d of %d: %d of %d %s, %d of them to run', shard_index, num_shards,
               len(mine), len(points), job.unit, len(todo))
  start = time.perf_counter()
  ran, failed = [], []
  for number, point in enumerate(todo, 1):
    logging.info('%s %s (%d of %d to run in this shard, %d left; %s so far)', job.point_title,
                 point.name, number, len(todo), len(todo) - number + 1,
                 _duration(time.perf_counter() - start))
    tf.io.gfile.makedirs(point.directory)
    files.write_text(os.path.join(point.directory, job.record), point.config)
    reason = job.run_point(point)
    ran.append(point.name)
    if reason is not None:
      logging.error('%s %s failed: %s', job.point_title, point.name, reason)
      failed.append((point.name, reason))
  if todo:
    logging.info('Shard %d of %d ran %d %s in %s (%d failed)', shard_index, num_shards,
                 len(todo), job.unit, _duration(time.perf_counter() - start), len(failed))
  return tuple(ran), tuple(failed)


def run_shard(points, job, num_shards=1, shard_index=0, merge_only=False):
  """Runs one shard of a job, then merges if every point is done (see the module docstring).

  Args:
    points: every `Point` of the job, in the same order in every shard.
    job: a `Job`.
    num_shards: the number of processes sharing the job.
    shard_index: this process, in `[0, num_shards)`.
    merge_only: run no point; merge if every point is done, else raise.

  Returns:
    A `ShardResult`. When points are missing it prints them (and the shard that owns each).

  Raises:
    ValueError: for an invalid shard, or a point holding results of another configuration
      (before anything runs).
    RuntimeError: under `merge_only` when points are missing (naming them and their shards);
      otherwise when points of this shard failed (naming each and its reason), after the
      other points ran.
  """
  check_shard(num_shards, shard_index)
  for point in points:   # check every reused point before running any
    check_reusable(point, job)
  ran, failed = (), ()
  if not merge_only:
    ran, failed = _run_own_points(points, job, num_shards, shard_index)
  missing = missing_points(points, job)
  merged = False
  if missing:
    listing = '\n'.join(f'  {point.directory} (shard {index % num_shards})'
                        for index, point in missing[:20])
    message = (f'{len(missing)} of {len(points)} {job.unit} are not done yet; the last shard to '
               f'finish (or {job.merge_flag}) writes {job.output}:\n{listing}')
    if merge_only:
      raise RuntimeError(message + '\nRun the shards that own them (done '
                         f'{job.unit} are reused), then {job.merge_flag} again.')
    print(message, flush=True)
  else:
    for point in points:   # the other shards' points, now that all are done
      check_reusable(point, job)
    job.merge(points)
    merged = True
  if failed:
    listing = '\n'.join(f'  {name}: {reason}' for name, reason in failed)
    raise RuntimeError(f'{len(failed)} of the {len(ran)} {job.unit} this shard ran failed:\n'
                       f'{listing}\nFix the cause and run the same command again (done '
                       f'{job.unit} are reused).')
  return ShardResult(ran=ran, failed=failed, missing=tuple(missing), merged=merged)
