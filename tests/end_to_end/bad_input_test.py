"""Rows of docs/errors.md that go through a launcher: the error names the problem (and, for our
launchers, what to do), and the files already in the workdir are unchanged."""

import json
import os
import subprocess
import sys
from unittest import mock

from absl.testing import parameterized
import pytest
import tensorflow as tf

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_TINY_ICA = ['--gin_bindings=run.num_points = 300', '--gin_bindings=run.num_iterations = 2',
             '--gin_bindings=run.num_posterior_samples = 50', '--gin_bindings=run.fastica = False']


def _launch(script, *args):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
  return subprocess.run([sys.executable, os.path.join(_REPO, 'launch', script), *args],
                        capture_output=True, text=True, env=env, cwd=_REPO, timeout=600)


def _snapshot(directory):
  """`{relative path: (bytes, mtime_ns)}` of every file under `directory`."""
  found = {}
  for root, _, names in os.walk(directory):
    for name in names:
      path = os.path.join(root, name)
      with open(path, 'rb') as f:
        found[os.path.relpath(path, directory)] = (f.read(), os.stat(path).st_mtime_ns)
  return found


def _earlier_run(workdir, *subdirs):
  """Files of an earlier run in `workdir` (or in its `subdirs`), which a failure must keep."""
  for subdir in subdirs or ('',):
    directory = os.path.join(workdir, subdir)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, 'metrics.json'), 'w') as f:
      json.dump({'spread_em': {'relative_error': 0.5}}, f)
    with open(os.path.join(directory, 'operative_config.gin'), 'w') as f:
      f.write('run.seed = 0\n')


def _stand_in_run(workdir, config):
  """A run directory whose `operative_config.gin` is `config`, beside a stand-in checkpoint.

  Enough for evaluation to reach the parse of the run's config (it finds the checkpoint first);
  never restored.
  """
  os.makedirs(os.path.join(workdir, 'checkpoints'))
  with open(os.path.join(workdir, 'checkpoints', 'checkpoint'), 'w') as f:
    f.write('model_checkpoint_path: "ckpt-1"\nall_model_checkpoint_paths: "ckpt-1"\n')
  with open(os.path.join(workdir, 'checkpoints', 'ckpt-1.index'), 'wb'):
    pass
  path = os.path.join(workdir, 'operative_config.gin')
  with open(path, 'w') as f:
    f.write(config)
  return path


@pytest.mark.slow
class BadInputTest(tf.test.TestCase, parameterized.TestCase):

  def _assert_fails_keeping_workdir(self, workdir, script, args, *messages):
    before = _snapshot(workdir)
    out = _launch(script, f'--workdir={workdir}', *args)
    self.assertNotEqual(out.returncode, 0, out.stdout)
    for message in messages:
      self.assertIn(message, out.stderr)
    self.assertEqual(_snapshot(workdir), before)

  @parameterized.named_parameters(
      ('unknown_binding', ['--gin_file=ica/demo.gin', '--gin_bindings=run.num_iteration = 3'],
       ["doesn't have a parameter named 'num_iteration'", 'Bindings look like']),
      ('unknown_file', ['--gin_file=ica/dmeo.gin'],
       ['Unable to open file: ica/dmeo.gin', 'Did you mean ica/demo.gin']))
  def test_ica_launcher_refuses_bad_gin(self, args, messages):
    workdir = self.create_tempdir().full_path
    _earlier_run(workdir)
    self._assert_fails_keeping_workdir(workdir, 'ica.py', args + _TINY_ICA, *messages)

  def test_sweep_launcher_refuses_a_misspelt_macro(self):
    workdir = self.create_tempdir().full_path
    _earlier_run(workdir, os.path.join('GAMMA=0.1', 'seed=0'))
    self._assert_fails_keeping_workdir(
        workdir, 'sweep.py', ['--gin_file=ica/fig1a.gin', '--gin_bindings=GAMA = 0.',
                              '--values=0.1', '--seeds=0'] + _TINY_ICA,
        "macro(s) ['GAMA'] that no config uses", "'GAMMA'")

  @parameterized.named_parameters(
      ('unknown_binding', ['--gin_file=mnist/delta_vae_gaussian.gin', '--gin_file=smoke.gin',
                           '--gin_bindings=train.num_stepz = 2'],
       "Configurable 'train' doesn't have a parameter named 'num_stepz'"),
      ('unknown_file', ['--gin_file=mnist/delta_vae_gausian.gin', '--gin_file=smoke.gin'],
       'Did you mean mnist/delta_vae_gaussian.gin'),
      ('misspelt_macro', ['--gin_file=mnist/delta_vae_gaussian.gin', '--gin_file=smoke.gin',
                          '--gin_bindings=SPREAD_SCALLE = 0.1'],
       "macro(s) ['SPREAD_SCALLE'] that no config uses"),
      ('zero_spread_scale', ['--gin_file=mnist/delta_vae_gaussian.gin', '--gin_file=smoke.gin',
                             '--gin_bindings=SPREAD_SCALE = 0.'],
       '`scale` must be strictly positive, got 0.0'))
  def test_train_launcher_refuses_bad_input(self, args, message):
    workdir = self.create_tempdir().full_path
    _earlier_run(workdir)
    self._assert_fails_keeping_workdir(workdir, 'train.py',
                                       args + ['--gin_bindings=train.seed = 0'], message)

  @parameterized.named_parameters(
      ('train_file', 'train.py', 'file'), ('train_binding', 'train.py', 'binding'),
      ('ica_file', 'ica.py', 'file'), ('ica_binding', 'ica.py', 'binding'),
      ('sweep_file', 'sweep.py', 'file'), ('sweep_binding', 'sweep.py', 'binding'),
      ('evaluate_runs_config', 'evaluate.py', 'file'),
      ('evaluate_binding', 'evaluate.py', 'binding'))
  def test_every_gin_launcher_names_a_gin_syntax_error(self, script, where):
    # A bracket left open at the end of the last gin file or binding: gin itself raised
    # tokenize.TokenError: ('EOF in multi-line statement', (3, 0)), naming neither.
    workdir = self.create_tempdir().full_path
    broken = 'SEED = 0\nUNCLOSED = [0,\n'
    args = {'train.py': ['--gin_file=mnist/delta_vae_gaussian.gin', '--gin_file=smoke.gin',
                         '--gin_bindings=train.seed = 0'],
            'ica.py': ['--gin_file=ica/demo.gin'] + _TINY_ICA,
            'sweep.py': ['--gin_file=ica/fig1a.gin', '--values=0.1', '--seeds=0'] + _TINY_ICA,
            'evaluate.py': ['--features=none']}[script]
    if script == 'evaluate.py':   # The run's config is the gin file; a stand-in checkpoint.
      gin_file = _stand_in_run(workdir, broken if where == 'file' else '')
    else:
      _earlier_run(workdir)
      gin_file = os.path.join(self.create_tempdir().full_path, 'broken.gin')
      with open(gin_file, 'w') as f:
        f.write(broken)
      if where == 'file':
        args = args + [f'--gin_file={gin_file}']
    if where == 'binding':
      args = args + ['--gin_bindings=UNCLOSED = [0,']
      num_bindings = sum(arg.startswith('--gin_bindings=') for arg in args)
      place = (f"binding {num_bindings} of {num_bindings} (--gin_bindings='UNCLOSED = [0,'), "
               'line 1')
    else:
      place = f'gin file {gin_file!r}, line 2'
    self._assert_fails_keeping_workdir(
        workdir, script, args, f"ValueError: gin syntax error in {place}: '[' is never closed",
        'Bindings look like')

  def test_tpu_strategy_without_a_tpu_says_what_to_pass(self):
    workdir = self.create_tempdir().full_path
    _earlier_run(workdir)
    self.enter_context(mock.patch.dict(os.environ))
    for name in ('TPU_NAME', 'KUBE_GOOGLE_CLOUD_TPU_ENDPOINTS', 'TPU_CONFIG'):  # What '' reads.
      os.environ.pop(name, None)
    self._assert_fails_keeping_workdir(
        workdir, 'train.py', ['--strategy=tpu', '--gin_file=mnist/delta_vae_gaussian.gin',
                              '--gin_file=smoke.gin', '--gin_bindings=train.seed = 0'],
        "RuntimeError: --strategy=tpu found no TPU for --tpu='' (ValueError: Please provide a "
        'TPU Name to connect to.); pass --tpu=NAME')

  def test_evaluate_launcher_refuses_bdmc_without_ais(self):
    workdir = self.create_tempdir().full_path
    _earlier_run(workdir)
    self._assert_fails_keeping_workdir(workdir, 'evaluate.py', ['--bdmc', '--features=none'],
                                       '--bdmc runs AIS both ways', '--ais_steps')


if __name__ == '__main__':
  tf.test.main()
