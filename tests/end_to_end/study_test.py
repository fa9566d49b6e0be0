"""launch/study.py end to end: a smoke study trains, evaluates, reports, skips, resumes, shards.

Each run trains and evaluates in its own TensorFlow process (about 7 s each to start), so the
default tier keeps one test of the whole flow (2 configurations x 1 seed); a killed training
resumed by the next study run, then a rerun that touches nothing, and two shards are slow.
"""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import tensorflow as tf

from spreadtf.studies import runner

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_STUDY = """
import spreadtf.studies.study_file
study.configurations = [
    {'name': 'gaussian', 'gin_files': ['mnist/delta_vae_gaussian.gin', 'smoke.gin']},
    {'name': 'laplace', 'gin_files': ['mnist/delta_vae_laplace.gin', 'smoke.gin']},
]
study.seeds = [0]
study.gin_bindings = ['train.verbose = False', 'train.export = False']
study.evaluation = {'num_importance_samples': 2, 'features': 'none'}
study.comparisons = [
    {'metric': 'sharpness', 'first': 'laplace', 'second': 'gaussian', 'higher_is_better': True}]
"""


def _command(study, workdir, *args):
  return [sys.executable, os.path.join(_REPO, 'launch', 'study.py'), f'--study={study}',
          f'--workdir={workdir}', *args]


def _env():
  return dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')


def _study(study, workdir, *args):
  return subprocess.run(_command(study, workdir, *args), capture_output=True, text=True,
                        env=_env(), check=False, timeout=900)


def _hashes(directory):
  """`{relative path: sha256}` of every file under `directory`."""
  digests = {}
  for root, _, names in os.walk(directory):
    for name in names:
      with open(os.path.join(root, name), 'rb') as f:
        digests[os.path.relpath(os.path.join(root, name), directory)] = hashlib.sha256(
            f.read()).hexdigest()
  return digests


def _read(path):
  with open(path) as f:
    return f.read()


def _without_training_time(report):
  """report.md's lines, the configurations table without its training-time column."""
  lines, index = [], None
  for line in report.splitlines():
    if line.startswith('| configuration | seeds |'):
      index = next(i for i, cell in enumerate(line.split('|'))
                   if cell.strip().startswith('training time'))
    elif not line.startswith('|'):
      index = None
    if index is not None:
      line = '|'.join(cell for i, cell in enumerate(line.split('|')) if i != index)
    lines.append(line)
  return lines


def _children(pid):
  """Process ids of the children of `pid` (Linux /proc)."""
  found = []
  for task in os.listdir(f'/proc/{pid}/task'):
    try:
      with open(f'/proc/{pid}/task/{task}/children') as f:
        found.extend(int(child) for child in f.read().split())
    except FileNotFoundError:
      pass
  return found


def _cmdline(pid):
  try:
    with open(f'/proc/{pid}/cmdline', 'rb') as f:
      return f.read().replace(b'\0', b' ').decode()
  except FileNotFoundError:
    return ''


class StudyTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.study = self.create_tempfile('smoke_study.gin', content=_STUDY).full_path

  def test_study_trains_evaluates_and_reports_every_run(self):
    workdir = self.create_tempdir().full_path
    out = _study(self.study, workdir)
    self.assertEqual(out.returncode, 0, out.stderr[-3000:])
    self.assertIn('Study run gaussian seed=0 (1 of 2 to run in this shard, 2 left;', out.stderr)
    self.assertIn('Study run laplace seed=0 (2 of 2 to run in this shard, 1 left;', out.stderr)
    report = _read(os.path.join(workdir, 'report', 'report.md'))
    self.assertIn('| gaussian | 1 |', report)
    self.assertIn('| laplace | 1 |', report)
    self.assertIn('## Comparisons', report)
    self.assertIn('| sharpness: laplace > gaussian | 1 + 1 |', report)   # declared, one seed each
    options = {'features': 'none', 'num_importance_samples': 2}
    for name in ('gaussian', 'laplace'):
      run = os.path.join(workdir, name, 'seed=0')
      self.assertEqual(json.loads(_read(os.path.join(run, 'metrics.json')))['status'],
                       'completed')
      self.assertEqual(json.loads(_read(os.path.join(run, 'eval.json')))['iw_num_samples'], 2)
      self.assertIn('launch/train.py', _read(os.path.join(run, 'study_logs', 'train.log')))
      self.assertIn('--features=none', _read(os.path.join(run, 'study_logs', 'evaluate.log')))
      # What the real launchers wrote counts as done, so a rerun skips it (what a rerun does
      # with done runs: tests/studies/runner_test.py; a real rerun: the slow test below).
      self.assertTrue(runner.is_trained(run))
      self.assertTrue(runner.is_evaluated(run, options))
      self.assertFalse(runner.is_evaluated(run, dict(options, num_importance_samples=3)))

  # Slow: three study processes with a killed training in between (about a minute on 2 cores).
  @pytest.mark.slow
  def test_a_killed_training_resumes_and_a_finished_study_is_left_alone(self):
    workdir = self.create_tempdir().full_path
    args = ['--gin_bindings=study.seeds = [3]', '--train_bindings=train.num_steps = 400']
    run = os.path.join(workdir, 'gaussian', 'seed=3')
    study = subprocess.Popen(_command(self.study, workdir, *args), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=_env())
    deadline = time.time() + 300
    killed = None
    while killed is None and time.time() < deadline:
      state = os.path.join(run, 'checkpoints', 'checkpoint')
      if os.path.exists(state) and 'ckpt-' in _read(state):
        for child in _children(study.pid):
          if 'train.py' in _cmdline(child):
            os.kill(child, signal.SIGKILL)
            killed = child
      time.sleep(0.05)
    self.assertIsNotNone(killed, 'the training never wrote a checkpoint')
    _, stderr = study.communicate(timeout=600)
    # The killed run is reported with its log; the other one still ran; no report yet.
    self.assertNotEqual(study.returncode, 0)
    self.assertIn('gaussian seed=3: training exited with status -9; see '
                  + os.path.join(run, 'study_logs', 'train.log'), stderr)
    self.assertTrue(os.path.exists(os.path.join(workdir, 'laplace', 'seed=3', 'eval.json')))
    self.assertFalse(os.path.exists(os.path.join(run, 'metrics.json')))
    self.assertFalse(os.path.exists(os.path.join(workdir, 'report')))

    out = _study(self.study, workdir, *args)
    self.assertEqual(out.returncode, 0, out.stderr[-3000:])
    metrics = json.loads(_read(os.path.join(run, 'metrics.json')))
    self.assertEqual((metrics['status'], metrics['steps']), ('completed', 400))
    self.assertGreater(metrics['start_step'], 0)   # resumed from its checkpoint, not restarted
    self.assertEqual(_read(os.path.join(run, 'study_logs', 'train.log')).count('=== '), 2)
    self.assertTrue(os.path.exists(os.path.join(workdir, 'report', 'report.md')))

    # Every run is done now: the same command again trains and evaluates nothing and leaves
    # checkpoints, metrics.json, eval.json and logs byte for byte.
    runs = {name: _hashes(os.path.join(workdir, name)) for name in ('gaussian', 'laplace')}
    self.assertTrue(any(p.startswith('seed=3/checkpoints/ckpt-') for p in runs['gaussian']))
    report = _read(os.path.join(workdir, 'report', 'report.md'))
    again = _study(self.study, workdir, *args)
    self.assertEqual(again.returncode, 0, again.stderr[-3000:])
    self.assertIn('2 of 2 runs, 0 of them to run', again.stderr)
    self.assertNotIn('Study run', again.stderr)
    for name, hashes in runs.items():
      self.assertEqual(_hashes(os.path.join(workdir, name)), hashes, name)
    self.assertEqual(_read(os.path.join(workdir, 'report', 'report.md')), report)

  # Slow: a study in one process, then in two concurrent shards (about 1.5 minutes on 2 cores).
  @pytest.mark.slow
  def test_two_shards_give_the_report_of_one_process(self):
    single = self.create_tempdir().full_path
    out = _study(self.study, single)
    self.assertEqual(out.returncode, 0, out.stderr[-3000:])
    sharded = self.create_tempdir().full_path
    shards = [subprocess.Popen(_command(self.study, sharded, '--num_shards=2',
                                        f'--shard_index={i}'),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=_env()) for i in range(2)]
    outputs = [shard.communicate(timeout=900) for shard in shards]
    for shard, (_, stderr) in zip(shards, outputs, strict=True):
      self.assertEqual(shard.returncode, 0, stderr[-3000:])
    # Each shard ran one of the two runs (round-robin over configuration-major order).
    self.assertIn('Study run gaussian seed=0', outputs[0][1])
    self.assertIn('Study run laplace seed=0', outputs[1][1])
    self.assertIn('Wrote the report of 2 runs', ''.join(stdout for stdout, _ in outputs))
    # The same numbers; only the training's wall time differs.
    reports = [_read(os.path.join(w, 'report', 'report.md')) for w in (sharded, single)]
    self.assertIn('| sharpness: laplace > gaussian | 1 + 1 |', reports[0])
    self.assertEqual(*[_without_training_time(r) for r in reports])
    for name in ('gaussian', 'laplace'):
      for config in ('study_config.gin', 'operative_config.gin'):
        self.assertEqual(_read(os.path.join(sharded, name, 'seed=0', config)),
                         _read(os.path.join(single, name, 'seed=0', config)))


if __name__ == '__main__':
  tf.test.main()
