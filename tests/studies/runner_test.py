"""spreadtf.studies.runner with a fake launcher: what runs, what is skipped, failures, the report.

The launcher processes are replaced by a fake that writes what train.py and evaluate.py would
(metrics.json, operative_config.gin, eval.json), so these tests check the runner's decisions in
milliseconds; tests/end_to_end/study_test.py runs the real processes.
"""

import json
import os
from unittest import mock

from absl.testing import parameterized
import tensorflow as tf

from spreadtf.studies import launcher_process
from spreadtf.studies import runner
from spreadtf.studies import study_file

_STUDY = """
import spreadtf.studies.study_file
study.configurations = [
    {'name': 'a', 'gin_files': ['mnist/delta_vae_gaussian.gin', 'smoke.gin']},
    {'name': 'b', 'gin_files': ['mnist/delta_vae_laplace.gin', 'smoke.gin']%s},
]
study.seeds = [0]
study.evaluation = {'num_importance_samples': 2, 'features': 'none'}
study.comparisons = [
    {'metric': 'sharpness', 'first': 'b', 'second': 'a', 'higher_is_better': True}]
"""


def _flags(args):
  values = {}
  for arg in args:
    name, _, value = arg[2:].partition('=')
    values.setdefault(name, []).append(value)
  return values


class _FakeLauncher:
  """Stands in for `launcher_process.run_launcher`; records (script, run name) per call."""

  def __init__(self, fail=(), status='completed'):
    self.calls, self.fail, self.status, self.args = [], set(fail), status, []

  def __call__(self, script, args, log_path):
    flags = _flags(args)
    workdir = flags['workdir'][0]
    name = os.path.basename(os.path.dirname(workdir))
    self.calls.append((script, name))
    self.args.append(args)
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    with open(log_path, 'a') as f:
      f.write(f'{script} {args}\n')
    if (script, name) in self.fail:
      return 1
    if script == 'train.py':
      _write(workdir, 'metrics.json', json.dumps({'status': self.status, 'train_seconds': 1.}))
      _write(workdir, 'operative_config.gin', '\n'.join(flags['gin_file']))
    else:
      _write(workdir, 'eval.json', json.dumps({'sharpness': 0.1 if name == 'a' else 0.2,
                                               'K': flags.get('num_importance_samples')}))
    return 0


def _write(directory, name, text):
  with open(os.path.join(directory, name), 'w') as f:
    f.write(text)


class RunnerTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self.workdir = self.create_tempdir().full_path
    self.study = self._study_file()

  def _study_file(self, b_extra=''):
    return self.create_tempfile(content=_STUDY % b_extra).full_path

  def _run(self, fake, study=None, **kwargs):
    with mock.patch.object(launcher_process, 'run_launcher', fake):
      return runner.run_study(study or self.study, self.workdir, **kwargs)

  def _run_dir(self, name):
    return os.path.join(self.workdir, name, 'seed=0')

  def test_trains_and_evaluates_every_run_then_writes_the_report(self):
    fake = _FakeLauncher()
    self.assertEqual(self._run(fake), 0)
    self.assertEqual(fake.calls, [('train.py', 'a'), ('evaluate.py', 'a'), ('train.py', 'b'),
                                  ('evaluate.py', 'b')])
    train_args = _flags(fake.args[0])
    self.assertEqual(train_args['gin_file'], ['mnist/delta_vae_gaussian.gin', 'smoke.gin'])
    self.assertEqual(train_args['gin_bindings'], ['train.seed = 0'])
    self.assertEqual(sorted(fake.args[1]), ['--features=none', '--num_importance_samples=2',
                                            f'--workdir={self._run_dir("a")}'])
    with open(os.path.join(self.workdir, 'report', 'report.md')) as f:
      report = f.read()
    self.assertIn('| a | 1 |', report)
    self.assertIn('| b | 1 |', report)
    self.assertIn('| sharpness: b > a | 1 + 1 |', report)   # the declared comparison, tested

  def test_done_runs_are_skipped_and_the_report_is_the_same(self):
    self._run(_FakeLauncher())
    report = os.path.join(self.workdir, 'report', 'report.md')
    with open(report) as f:
      first = f.read()
    fake = _FakeLauncher()
    self._run(fake)
    self.assertEmpty(fake.calls)
    with open(report) as f:
      self.assertEqual(f.read(), first)

  def test_new_evaluation_options_evaluate_again_without_training(self):
    self._run(_FakeLauncher())
    fake = _FakeLauncher()
    self._run(fake, study_bindings=["study.evaluation = {'num_importance_samples': 5}"])
    self.assertEqual(fake.calls, [('evaluate.py', 'a'), ('evaluate.py', 'b')])
    self.assertIn('--num_importance_samples=5', fake.args[0])
    self.assertNotIn('--features=none', fake.args[0])

  def test_an_eval_json_not_made_by_the_study_is_evaluated_again(self):
    self._run(_FakeLauncher())
    _write(self._run_dir('a'), 'eval.json', '{"sharpness": 9}')   # e.g. evaluate.py by hand
    fake = _FakeLauncher()
    self._run(fake)
    self.assertEqual(fake.calls, [('evaluate.py', 'a')])

  @parameterized.parameters('preempted', 'diverged')
  def test_unfinished_training_is_run_again(self, status):
    # An interrupted run: its record and a metrics.json that does not say it finished.
    os.makedirs(self._run_dir('a'))
    _write(self._run_dir('a'), runner.RECORD, runner.run_points(
        study_file.load_study(self.study), self.workdir)[0].config)
    _write(self._run_dir('a'), 'metrics.json', json.dumps({'status': status}))
    fake = _FakeLauncher()
    self._run(fake)
    self.assertEqual(fake.calls[:2], [('train.py', 'a'), ('evaluate.py', 'a')])

  def test_a_failed_run_is_named_with_its_log_and_the_others_still_run(self):
    fake = _FakeLauncher(fail=[('train.py', 'a')])
    with self.assertRaisesRegex(RuntimeError, 'a seed=0: training exited with status 1; see .*'
                                + os.path.join('a', 'seed=0', 'study_logs', 'train.log')):
      self._run(fake)
    self.assertEqual(fake.calls, [('train.py', 'a'), ('train.py', 'b'), ('evaluate.py', 'b')])
    self.assertFalse(os.path.exists(os.path.join(self.workdir, 'report')))
    fake = _FakeLauncher()   # fixed: the rerun trains only the failed run, then reports
    self._run(fake)
    self.assertEqual(fake.calls, [('train.py', 'a'), ('evaluate.py', 'a')])
    self.assertTrue(os.path.exists(os.path.join(self.workdir, 'report', 'report.md')))

  def test_a_changed_training_config_stops_the_study_before_anything_runs(self):
    self._run(_FakeLauncher())
    fake = _FakeLauncher()
    with self.assertRaisesRegex(ValueError, 'study run .*a/seed=0 holds results of another '
                                'configuration'):
      self._run(fake, train_bindings=['train.num_steps = 3'])
    self.assertEmpty(fake.calls)

  def test_a_run_after_another_waits_until_that_one_has_trained(self):
    study = self._study_file(", 'after': ['a']")
    fake = _FakeLauncher()   # shard 1 owns b, whose run after a cannot start yet
    with self.assertRaisesRegex(RuntimeError, 'runs after a seed=0, which has not finished '
                                'training'):
      self._run(fake, study=study, num_shards=2, shard_index=1)
    self.assertEmpty(fake.calls)
    self._run(_FakeLauncher(), study=study, num_shards=2, shard_index=0)
    fake = _FakeLauncher()
    self._run(fake, study=study, num_shards=2, shard_index=1)
    self.assertEqual(fake.calls, [('train.py', 'b'), ('evaluate.py', 'b')])
    self.assertTrue(os.path.exists(os.path.join(self.workdir, 'report', 'report.md')))

  def test_a_preempted_child_stops_the_study_with_status_42(self):
    def preempted(script, args, log_path):
      raise launcher_process.Preempted(f'{script} was preempted')

    self.assertEqual(self._run(preempted), launcher_process.PREEMPTED_EXIT_CODE)
    self.assertFalse(os.path.exists(os.path.join(self.workdir, 'report')))

  def test_report_only_runs_nothing_and_names_the_missing_runs(self):
    self._run(_FakeLauncher(), num_shards=2, shard_index=0)
    fake = _FakeLauncher()
    with self.assertRaisesRegex(RuntimeError, r'1 of 2 runs are not done yet(?s:.*)'
                                r'b/seed=0 \(shard 1\)(?s:.*)--report_only'):
      self._run(fake, num_shards=2, report_only=True)
    self.assertEmpty(fake.calls)

  def test_evaluation_options_become_launcher_flags(self):
    self.assertEqual(runner.evaluate_flags({'features': 'none', 'max_images': None,
                                            'gin_bindings': ['A = 1', 'B = 2'],
                                            'num_sample_sets': 5}),
                     ['--features=none', '--gin_bindings=A = 1', '--gin_bindings=B = 2',
                      '--num_sample_sets=5'])
    self.assertEqual(runner.evaluate_flags({'verbose': False, 'x': True}), ['--noverbose', '--x'])
    self.assertEqual(runner.evaluate_flags({'iw_sweep': [1, 10, 100]}), ['--iw_sweep=1,10,100'])


if __name__ == '__main__':
  tf.test.main()
