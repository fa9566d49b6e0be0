"""launch/train.py under MultiWorkerMirroredStrategy: two local worker processes (TF_CONFIG)."""

import json
import os
import socket
import subprocess
import sys

from absl.testing import parameterized
import gin
import pytest
import tensorflow as tf

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _free_port():
  with socket.socket() as s:
    s.bind(('localhost', 0))
    return s.getsockname()[1]


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


if __name__ == '__main__':
  tf.test.main()
