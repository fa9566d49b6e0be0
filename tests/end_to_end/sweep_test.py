"""launch/sweep.py end to end: csv and plot, reuse only of the same config, sharding and merge."""

import csv
import json
import os
import subprocess
import sys

from absl.testing import parameterized
import pytest
import tensorflow as tf

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_TINY = ['run.num_points = 300', 'run.num_iterations = 3', 'run.num_posterior_samples = 50',
         'run.eval_every = 1', 'run.log_every = 1', 'run.fastica = False']
_BINDINGS = [f'--gin_bindings={b}' for b in _TINY]


def _command(workdir, *args):
  return [sys.executable, os.path.join(_REPO, 'launch', 'sweep.py'), '--gin_file=ica/fig1b.gin',
          f'--workdir={workdir}', *_BINDINGS, *args]


def _env():
  return dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')


def _sweep(workdir, *args, check=True):
  return subprocess.run(_command(workdir, *args), capture_output=True, text=True, env=_env(),
                        check=check, cwd=_REPO, timeout=600)


def _rows(workdir):
  with open(os.path.join(workdir, 'results.csv')) as f:
    return list(csv.DictReader(f))


def _read(path):
  with open(path, 'rb') as f:
    return f.read()


def _point_files(workdir, name):
  """`{point: contents of <point>/<name>}` for every point directory under `workdir`."""
  found = {}
  for root, _, names in os.walk(workdir):
    if name in names:
      found[os.path.relpath(root, workdir)] = _read(os.path.join(root, name))
  return found


class SweepTest(tf.test.TestCase, parameterized.TestCase):

  @pytest.mark.slow
  def test_sweep_reuses_only_points_of_the_same_config(self):
    workdir = self.create_tempdir().full_path
    args = ['--values=100', '--seeds=0']
    _sweep(workdir, *args)
    point = os.path.join(workdir, 'NUM_POINTS=100', 'seed=0')
    metrics_path = os.path.join(point, 'metrics.json')
    written = os.stat(metrics_path).st_mtime_ns
    with open(os.path.join(point, 'sweep_config.gin')) as f:
      self.assertIn('NUM_POINTS = 100', f.read())
    _sweep(workdir, *args)   # same config: reused, not rerun
    self.assertEqual(os.stat(metrics_path).st_mtime_ns, written)
    out = _sweep(workdir, *args, '--gin_bindings=run.num_iterations = 2', check=False)
    self.assertNotEqual(out.returncode, 0)
    self.assertIn(point, out.stderr)
    self.assertIn('run.num_iterations = 2', out.stderr)
    self.assertIn('new --workdir', out.stderr)
    self.assertEqual(os.stat(metrics_path).st_mtime_ns, written)

  def test_sweep_writes_rows_point_files_and_the_plot(self):
    workdir = self.create_tempdir().full_path
    out = _sweep(workdir, '--values=100', '--seeds=0')
    self.assertIn('Wrote 2 rows', out.stdout)
    rows = _rows(workdir)
    self.assertEqual([(r['value'], r['seed'], r['method']) for r in rows],
                     [('100', '0', 'spread_em'), ('100', '0', 'standard_em')])
    self.assertTrue(all(float(r['relative_error']) >= 0. for r in rows))
    self.assertEqual(set(_point_files(workdir, 'metrics.json')), {'NUM_POINTS=100/seed=0'})
    self.assertEqual(_read(os.path.join(workdir, 'error_vs_num_points.png'))[:8],
                     b'\x89PNG\r\n\x1a\n')
    self.assertEmpty([n for _, _, names in os.walk(workdir) for n in names if '.tmp-' in n])

  # Slow: three TensorFlow processes (about 30 s on 2 cores).
  @pytest.mark.slow
  def test_two_shards_in_two_processes_give_the_results_of_one_process(self):
    args = ['--values=100,200', '--seeds=0,1']
    single = self.create_tempdir().full_path
    _sweep(single, *args)
    rows = _rows(single)
    self.assertLen(rows, 2 * 2 * 2)   # values x seeds x methods
    self.assertEqual({r['value'] for r in rows}, {'100', '200'})
    self.assertEqual({r['method'] for r in rows}, {'spread_em', 'standard_em'})
    self.assertEqual(_read(os.path.join(single, 'error_vs_num_points.png'))[:8],
                     b'\x89PNG\r\n\x1a\n')
    self.assertEmpty([n for _, _, names in os.walk(single) for n in names if '.tmp-' in n])
    sharded = self.create_tempdir().full_path
    shards = [subprocess.Popen(_command(sharded, *args, '--num_shards=2', f'--shard_index={i}'),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=_env(), cwd=_REPO) for i in range(2)]
    outputs = [shard.communicate(timeout=600) for shard in shards]
    for shard, (_, stderr) in zip(shards, outputs, strict=True):
      self.assertEqual(shard.returncode, 0, stderr[-3000:])
    self.assertIn('Wrote 8 rows', ''.join(stdout for stdout, _ in outputs))
    # Each shard ran two of the four points (round-robin over value-major order).
    self.assertEqual([stderr.count('Sweep point') for _, stderr in outputs], [2, 2])
    self.assertIn('NUM_POINTS = 100, seed 0', outputs[0][1])
    self.assertIn('NUM_POINTS = 100, seed 1', outputs[1][1])

    def without_time(rows):
      return [{k: v for k, v in row.items() if k != 'wall_s'} for row in rows]

    self.assertEqual(without_time(_rows(sharded)), without_time(_rows(single)))
    self.assertEqual(_point_files(sharded, 'sweep_config.gin'),
                     _point_files(single, 'sweep_config.gin'))
    for point, raw in _point_files(single, 'metrics.json').items():
      expected = json.loads(raw)
      got = json.loads(_point_files(sharded, 'metrics.json')[point])
      for method in expected:   # bit-identical estimates; only the timings differ
        for field in ('relative_error', 'relative_error_rescaled', 'amari_distance'):
          self.assertEqual(got[method][field], expected[method][field], (point, method, field))

  @pytest.mark.slow
  def test_last_shard_merges_and_merge_flag_is_idempotent(self):
    workdir = self.create_tempdir().full_path
    args = ['--values=100,200', '--seeds=0', '--num_shards=2']
    first = _sweep(workdir, *args, '--shard_index=0')
    self.assertIn('1 of 2 points are not done yet', first.stdout)
    self.assertIn('NUM_POINTS=200', first.stdout)
    self.assertFalse(os.path.exists(os.path.join(workdir, 'results.csv')))

    merge = _sweep(workdir, *args, '--merge', check=False)
    self.assertNotEqual(merge.returncode, 0)
    self.assertIn(os.path.join(workdir, 'NUM_POINTS=200', 'seed=0') + ' (shard 1)', merge.stderr)
    self.assertFalse(os.path.exists(os.path.join(workdir, 'results.csv')))

    # A shard of another config refuses before running its point: shard 0 recorded its own.
    other = _sweep(workdir, *args, '--shard_index=1', '--gin_bindings=run.num_iterations = 2',
                   check=False)
    self.assertNotEqual(other.returncode, 0)
    self.assertIn(os.path.join(workdir, 'NUM_POINTS=100', 'seed=0'), other.stderr)
    self.assertFalse(os.path.exists(os.path.join(workdir, 'NUM_POINTS=200')))

    last = _sweep(workdir, *args, '--shard_index=1')
    self.assertIn('Wrote 4 rows', last.stdout)
    merged = _read(os.path.join(workdir, 'results.csv'))
    plot = _read(os.path.join(workdir, 'error_vs_num_points.png'))
    _sweep(workdir, *args, '--merge')
    self.assertEqual(_read(os.path.join(workdir, 'results.csv')), merged)
    self.assertEqual(_read(os.path.join(workdir, 'error_vs_num_points.png')), plot)

  @pytest.mark.slow
  def test_shard_index_must_be_below_num_shards(self):
    workdir = self.create_tempdir().full_path
    out = _sweep(workdir, '--num_shards=2', '--shard_index=2', check=False)
    self.assertNotEqual(out.returncode, 0)
    self.assertIn('--shard_index=2 must be below --num_shards=2', out.stderr)
    self.assertEmpty(os.listdir(workdir))


if __name__ == '__main__':
  tf.test.main()
