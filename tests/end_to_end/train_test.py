"""launch/train.py killed by SIGKILL or SIGTERM, then run again (its plain run: evaluate_test)."""

import json
import os
import resource
import signal
import subprocess
import sys
import time

from absl.testing import parameterized
import gin
import numpy as np
import pytest
import tensorflow as tf

from spreadtf import gin_parsing
from spreadtf import training
from tests import testing
from tests.training import input_checks_test

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_GIN_FILES = ['mnist/delta_vae_gaussian.gin', 'smoke.gin']
_PREEMPTED_EXIT_CODE = 42


def _env():
  return dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3',
              PYTHONPATH=os.pathsep.join([_REPO, os.environ.get('PYTHONPATH', '')]))


def _launch(script, *args):
  return subprocess.run([sys.executable, os.path.join(_REPO, 'launch', script), *args],
                        capture_output=True, text=True, timeout=300, env=_env(), check=False)


def _train_flags(workdir, bindings):
  return (['--workdir', workdir] + [f'--gin_file={f}' for f in _GIN_FILES] +
          [f'--gin_bindings={b}' for b in ['train.seed=0'] + bindings])


def _train_in_process(workdir, bindings):
  """The same run as `launch/train.py` with these bindings, in this process."""
  gin.clear_config()
  gin.add_config_file_search_path(gin_parsing.GIN_DIR)
  gin.parse_config_files_and_bindings(_GIN_FILES, ['train.seed=0'] + bindings,
                                      skip_unknown=False)
  return training.train(workdir=workdir, strategy=training.make_strategy('auto'))


def _start(workdir, bindings):
  return subprocess.Popen(
      [sys.executable, os.path.join(_REPO, 'launch', 'train.py'),
       *_train_flags(workdir, bindings)],
      env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait_for(condition, proc, timeout=120.):
  deadline = time.monotonic() + timeout
  while not condition():
    if proc.poll() is not None or time.monotonic() > deadline:
      raise AssertionError(f'gave up waiting (exit code {proc.poll()}).')
    time.sleep(0.02)


def _final_state(workdir, step):
  return testing.state_variables(os.path.join(workdir, 'checkpoints', f'ckpt-{step}'))


class LaunchTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  # Both slow (a fresh TensorFlow process and two in-process runs each): the default tier
  # proves exact resume and the SIGTERM handler in process (tests/training/training_run_test.py,
  # tests/training/preemption_test.py).
  @pytest.mark.slow
  def test_sigkill_at_a_random_step_then_rerun_gives_the_uninterrupted_weights(self):
    bindings = ['train.num_steps=100', 'train.steps_per_epoch=5', 'train.steps_per_loop=1',
                'train.export=False']
    killed, whole = self.create_tempdir().full_path, self.create_tempdir().full_path
    kill_after = 5 * np.random.RandomState(0).randint(3, 15)  # A checkpoint, then more steps.
    proc = _start(killed, bindings)
    self.addCleanup(proc.kill)
    marker = os.path.join(killed, 'checkpoints', f'ckpt-{kill_after}.index')
    _wait_for(lambda: os.path.exists(marker), proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    self.assertEqual(proc.returncode, -signal.SIGKILL)
    self.assertFalse(os.path.exists(os.path.join(killed, 'metrics.json')))  # It did not finish.
    latest = tf.train.latest_checkpoint(os.path.join(killed, 'checkpoints'))
    with self.assertLogs('absl', level='INFO') as logs:  # The re-run, here to save a start-up.
      _train_in_process(killed, bindings)
    self.assertIn(f'resumed from step {latest.rsplit("-", 1)[1]}', '\n'.join(logs.output))

    _train_in_process(whole, bindings)
    self.assertLessEqual(testing.max_difference(_final_state(whole, 100),
                                             _final_state(killed, 100)), 1e-6)

  @pytest.mark.slow
  def test_sigterm_mid_epoch_saves_that_step_and_the_rerun_finishes(self):
    bindings = ['train.num_steps=1000', 'train.steps_per_epoch=1000', 'train.export=False']
    workdir, whole = self.create_tempdir().full_path, self.create_tempdir().full_path
    proc = _start(workdir, bindings)
    self.addCleanup(proc.kill)
    for line in proc.stderr:  # The handler is installed once the loop is about to start.
      if 'training from step 0' in line:
        break
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    self.assertEqual(proc.returncode, _PREEMPTED_EXIT_CODE, err[-3000:])
    with open(os.path.join(workdir, 'metrics.json')) as f:
      metrics = json.load(f)
    step = metrics['steps']
    self.assertEqual(metrics['status'], 'preempted')
    self.assertBetween(step, 1, 999)  # Mid-epoch: the epoch ends at 1000.
    self.assertEqual(tf.train.latest_checkpoint(os.path.join(workdir, 'checkpoints')),
                     os.path.join(workdir, 'checkpoints', f'ckpt-{step}'))

    metrics = _train_in_process(workdir, bindings)
    self.assertEqual((metrics['status'], metrics['start_step'], metrics['steps']),
                     ('completed', step, 1000))
    _train_in_process(whole, bindings)
    self.assertLessEqual(testing.max_difference(_final_state(whole, 1000),
                                             _final_state(workdir, 1000)), 1e-6)


  @pytest.mark.slow
  def test_a_folder_run_refuses_added_images_then_reshuffles_and_finishes(self):
    # The in-process proof is tests/training/input_checks_test.py; here through the launcher.
    images = self.create_tempdir().full_path
    input_checks_test.write_images(images, 20)
    workdir = self.create_tempdir().full_path
    folder_flags = ['--gin_bindings=import spreadtf.data.folder',
                    '--gin_bindings=train.data_fn = @folder.make_folder_dataset',
                    f"--gin_bindings=folder.make_folder_dataset.path = '{images}'",
                    '--gin_bindings=folder.make_folder_dataset.crop_size = None',
                    '--gin_bindings=folder.make_folder_dataset.image_size = 28',
                    '--gin_bindings=folder.make_folder_dataset.channels = 1',
                    '--gin_bindings=folder.make_folder_dataset.num_test = 2',
                    '--gin_bindings=folder.make_folder_dataset.num_validation = 2']
    flags = _train_flags(workdir, ['train.export=False']) + folder_flags
    first = _launch('train.py', *flags)
    self.assertEqual(first.returncode, 0, first.stderr[-3000:])
    input_checks_test.write_images(images, 2, start=20)
    before = testing.hash_tree(workdir)
    refused = _launch('train.py', *flags, '--gin_bindings=train.num_steps=4')
    self.assertNotEqual(refused.returncode, 0)
    last = refused.stderr.strip().splitlines()
    message = '\n'.join(last[-8:])
    self.assertIn('DataChangedError: the data changed since checkpoint', message)
    self.assertIn('folder_files: 20 then, 22 now', message)
    self.assertIn("train.on_data_change = 'reshuffle'", message)
    self.assertEqual(testing.hash_tree(workdir), before)
    resumed = _launch('train.py', *flags, '--gin_bindings=train.num_steps=4',
                      "--gin_bindings=train.on_data_change = 'reshuffle'")
    self.assertEqual(resumed.returncode, 0, resumed.stderr[-3000:])
    self.assertIn('fresh input pipeline', resumed.stderr)
    with open(os.path.join(workdir, 'metrics.json')) as f:
      metrics = json.load(f)
    self.assertEqual((metrics['status'], metrics['start_step'], metrics['steps']),
                     ('completed', 2, 4))

  @pytest.mark.slow
  def test_a_full_disk_during_a_save_fails_clearly_and_leaves_the_previous_checkpoint(self):
    # The in-process proof is tests/training/checkpoints_test.py (SaveTest); here a process
    # under `ulimit -f` (a per-file size limit below the checkpoint's data file).
    workdir = self.create_tempdir().full_path
    flags = _train_flags(workdir, ['train.export=False'])
    first = _launch('train.py', *flags)
    self.assertEqual(first.returncode, 0, first.stderr[-3000:])
    checkpoints_before = testing.hash_tree(os.path.join(workdir, 'checkpoints'))
    metrics_before = testing.hash_tree(workdir)['metrics.json']
    limit = 64 * 1024  # The smoke MNIST MLP's checkpoint data file is about 1 MB.

    def limit_file_size():
      resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    full = subprocess.run(
        [sys.executable, os.path.join(_REPO, 'launch', 'train.py'), *flags,
         '--gin_bindings=train.num_steps=4'], capture_output=True, text=True, timeout=300,
        env=_env(), check=False, preexec_fn=limit_file_size)
    self.assertNotEqual(full.returncode, 0)
    self.assertRegex(full.stderr.strip().splitlines()[-2] + full.stderr.strip().splitlines()[-1],
                     r"CheckpointWriteError: cannot write checkpoint '.*ckpt-4': .*File too "
                     r"large.*latest checkpoint \('.*ckpt-2'\)")
    self.assertEqual(testing.hash_tree(os.path.join(workdir, 'checkpoints')), checkpoints_before)
    self.assertEqual(testing.hash_tree(workdir)['metrics.json'], metrics_before)
    again = _launch('train.py', *flags, '--gin_bindings=train.num_steps=4')
    self.assertEqual(again.returncode, 0, again.stderr[-3000:])


if __name__ == '__main__':
  tf.test.main()
