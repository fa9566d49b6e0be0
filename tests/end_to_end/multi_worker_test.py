"""launch/train.py under MultiWorkerMirroredStrategy: two local worker processes (TF_CONFIG).

Also preemption: SIGTERM to one worker makes both save at the same step (TensorFlow's
PreemptionCheckpointHandler) and exit with status 42; re-running both finishes the run with the
weights of an uninterrupted two-worker run.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time

from absl.testing import parameterized
import gin
import pytest
import tensorflow as tf

from tests import testing

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _free_port():
  with socket.socket() as s:
    s.bind(('localhost', 0))
    return s.getsockname()[1]


def _start_workers(workdir, bindings, logdir):
  """Starts two workers of `launch/train.py`; returns the processes and their stderr paths."""
  cluster = {'worker': [f'localhost:{_free_port()}', f'localhost:{_free_port()}']}
  procs, logs = [], []
  for index in range(2):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', TF_CONFIG=json.dumps(
        {'cluster': cluster, 'task': {'type': 'worker', 'index': index}}),
               PYTHONPATH=os.pathsep.join([_REPO, os.environ.get('PYTHONPATH', '')]))
    logs.append(os.path.join(logdir, f'worker_{index}.log'))
    with open(logs[-1], 'w') as err:
      procs.append(subprocess.Popen(
          [sys.executable, os.path.join(_REPO, 'launch', 'train.py'), f'--workdir={workdir}',
           '--strategy=multi_worker', '--gin_file=mnist/delta_vae_gaussian.gin',
           '--gin_file=smoke.gin', '--gin_bindings=train.seed=0'] +
          [f'--gin_bindings={b}' for b in bindings],
          env=env, stdout=subprocess.DEVNULL, stderr=err))
  return procs, logs


def _wait(procs, logs, timeout=300):
  codes = [proc.wait(timeout=timeout) for proc in procs]
  errors = []
  for path in logs:
    with open(path) as f:
      errors.append(f.read()[-3000:])
  return codes, errors


def _contains(path, text):
  with open(path) as f:
    return text in f.read()


@pytest.mark.slow
class MultiWorkerTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  def test_two_workers_train_and_chief_writes(self):
    workdir = self.create_tempdir().full_path
    cluster = {'worker': [f'localhost:{_free_port()}', f'localhost:{_free_port()}']}
    procs = []
    for index in range(2):
      env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', TF_CONFIG=json.dumps(
          {'cluster': cluster, 'task': {'type': 'worker', 'index': index}}))
      procs.append(subprocess.Popen(
          [sys.executable, os.path.join(_REPO, 'launch', 'train.py'), f'--workdir={workdir}',
           '--strategy=multi_worker', '--gin_file=mnist/delta_vae_gaussian.gin',
           '--gin_file=smoke.gin', '--gin_bindings=train.seed=0',
           '--gin_bindings=train.num_steps=4'],
          env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for proc in procs:
      _, err = proc.communicate(timeout=300)
      self.assertEqual(proc.returncode, 0, err[-3000:])
    with open(os.path.join(workdir, 'metrics.json')) as f:
      metrics = json.load(f)
    self.assertEqual((metrics['steps'], metrics['num_replicas']), (4, 2))
    self.assertFalse(os.path.exists(os.path.join(workdir, '.worker_1')))
    self.assertTrue(os.path.exists(os.path.join(workdir, 'export', 'saved_model.pb')))

  def test_sigterm_to_one_worker_saves_on_both_and_the_rerun_matches(self):
    bindings = ['train.num_steps=600', 'train.steps_per_epoch=600', 'train.export=False']
    workdir, whole = self.create_tempdir().full_path, self.create_tempdir().full_path
    logdir = self.create_tempdir().full_path
    procs, logs = _start_workers(workdir, bindings, logdir)
    for proc in procs:
      self.addCleanup(proc.kill)
    deadline = time.monotonic() + 120
    while not all(_contains(path, 'training from step 0') for path in logs):
      self.assertLess(time.monotonic(), deadline)
      time.sleep(0.1)
    time.sleep(1.)
    procs[1].send_signal(signal.SIGTERM)  # The non-chief only.
    codes, errors = _wait(procs, logs)
    self.assertEqual(codes, [42, 42], errors)
    with open(os.path.join(workdir, 'metrics.json')) as f:
      metrics = json.load(f)
    self.assertEqual(metrics['status'], 'preempted')
    step = metrics['steps']
    self.assertBetween(step, 1, 599)
    self.assertEqual(tf.train.latest_checkpoint(os.path.join(workdir, 'checkpoints')),
                     os.path.join(workdir, 'checkpoints', f'ckpt-{step}'))

    procs, logs = _start_workers(workdir, bindings, logdir)
    codes, errors = _wait(procs, logs)
    self.assertEqual(codes, [0, 0], errors)
    self.assertTrue(_contains(logs[1], f'resumed from step {step}'))  # From the chief's.
    procs, logs = _start_workers(whole, bindings, logdir)
    codes, errors = _wait(procs, logs)
    self.assertEqual(codes, [0, 0], errors)
    difference = testing.max_difference(
        testing.state_variables(os.path.join(whole, 'checkpoints', 'ckpt-600')),
        testing.state_variables(os.path.join(workdir, 'checkpoints', 'ckpt-600')))
    print(f'two workers, preempted at step {step} and resumed: max weight difference '
          f'{difference:.3g} from an uninterrupted run')
    self.assertLessEqual(difference, 1e-6)


if __name__ == '__main__':
  tf.test.main()
