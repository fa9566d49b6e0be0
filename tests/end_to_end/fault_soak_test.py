"""Fault-injection soak: one run SIGKILLed again and again, ending as an uninterrupted run.

`launch/train.py` (the MNIST MLP on fake data, 40 steps of 5-step epochs, an evaluation and a
checkpoint every epoch, the generator exported at the end) is started, killed with SIGKILL at a
chosen moment by `fault_injection.py`, and started again, `_NUM_KILLS` times: during steps, in the
middle of checkpoint writes (shards written but not merged; files whole but the state file being
replaced), during evaluations, at a random moment, during the export and while `metrics.json` is
being written. The moments are drawn from a seeded random state, every kind at least once. A
last start finishes the run. Its final checkpoint and its export must equal those of an
uninterrupted run bit for bit, and no debris of the interrupted saves may remain.
"""

import json
import os
import subprocess
import sys

from absl.testing import parameterized
import gin
import numpy as np
import pytest
import tensorflow as tf

from spreadtf import gin_parsing
from spreadtf import training
from spreadtf.training import checkpoints
from tests import testing

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_GIN_FILES = ['mnist/delta_vae_gaussian.gin', 'smoke.gin']
_BINDINGS = ['train.seed=0', 'train.num_steps=40', 'train.steps_per_epoch=5',
             'train.steps_per_loop=2', 'train.export=True', 'train.verbose=False']
_MIDDLE = ('step', 'checkpoint', 'checkpoint_state', 'evaluation', 'random')
_NUM_KILLS = 9  # 7 during training (each kind of _MIDDLE once, two more), then export, metrics.


def _schedule(seed):
  """`[(phase, occurrence)]`: the moments of the kills (see the module docstring)."""
  rng = np.random.RandomState(seed)
  middle = list(rng.permutation(_MIDDLE)) + list(rng.choice(_MIDDLE, _NUM_KILLS - 7))
  occurrence = {'step': (1, 8), 'checkpoint': (1, 6), 'checkpoint_state': (1, 6),
                'evaluation': (1, 4), 'random': (200, 3000)}  # random: milliseconds
  return ([(str(p), int(rng.randint(*occurrence[p]))) for p in middle]
          + [('export', 1), ('metrics', 1)])


def _export_variables(workdir):
  """The export's variables by name (in the export's own graph they are numbered in an order
  that may differ between two exports of the same model)."""
  loaded = tf.saved_model.load(os.path.join(workdir, 'export'))
  return {v.name: v.numpy() for v in loaded.decoder_variables}


class FaultSoakTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  @pytest.mark.slow
  def test_random_sigkills_during_steps_saves_evaluation_and_export_end_bit_identical(self):
    workdir, whole = self.create_tempdir().full_path, self.create_tempdir().full_path
    log = os.path.join(self.create_tempdir().full_path, 'faults.log')
    flags = ([f'--workdir={workdir}'] + [f'--gin_file={f}' for f in _GIN_FILES] +
             [f'--gin_bindings={b}' for b in _BINDINGS])
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3',
               PYTHONPATH=os.pathsep.join([_REPO, os.environ.get('PYTHONPATH', '')]))
    schedule = _schedule(seed=0)
    killed = []
    for phase, count in schedule:
      proc = subprocess.run(
          [sys.executable, os.path.join(_REPO, 'tests', 'end_to_end', 'fault_injection.py'),
           f'--fault={phase}:{count}', f'--fault_log={log}', '--', *flags],
          capture_output=True, text=True, timeout=600, env=env, check=False)
      if proc.returncode == 0:  # The moment did not come (e.g. too few evaluations were left).
        self.assertNotIn(phase, ('export', 'metrics'))
        continue
      self.assertEqual(proc.returncode, -9, proc.stderr[-3000:])
      killed.append((phase, count))
    with open(log) as f:
      self.assertEqual([tuple(line.split()) for line in f.read().splitlines()],
                       [(p, str(c)) for p, c in killed])
    self.assertContainsSubset({'step', 'checkpoint', 'checkpoint_state', 'evaluation', 'export',
                               'metrics'}, {p for p, _ in killed})
    final = subprocess.run([sys.executable, os.path.join(_REPO, 'launch', 'train.py'), *flags],
                           capture_output=True, text=True, timeout=600, env=env, check=False)
    self.assertEqual(final.returncode, 0, final.stderr[-3000:])

    gin.add_config_file_search_path(gin_parsing.GIN_DIR)
    gin.parse_config_files_and_bindings(_GIN_FILES, _BINDINGS, skip_unknown=False)
    training.train(workdir=whole, strategy=training.make_strategy('auto'))
    with open(os.path.join(workdir, 'metrics.json')) as f:
      metrics = json.load(f)
    self.assertEqual((metrics['status'], metrics['steps'], metrics['exported_step']),
                     ('completed', 40, 40))
    checkpoint_difference = testing.max_difference(
        testing.state_variables(os.path.join(whole, 'checkpoints', 'ckpt-40')),
        testing.state_variables(os.path.join(workdir, 'checkpoints', 'ckpt-40')))
    export_difference = testing.max_difference(_export_variables(whole),
                                                _export_variables(workdir))
    directory = os.path.join(workdir, 'checkpoints')
    self.assertEqual(checkpoints.find_debris(directory), [])
    self.assertEqual(checkpoints.find_debris(checkpoints.best_directory(directory)), [])
    self.assertEqual([n for n in os.listdir(workdir) if n.startswith('.')], [])
    print('fault soak', json.dumps({'kills': killed, 'max_checkpoint_difference':
                                    checkpoint_difference, 'max_export_difference':
                                    export_difference}))
    self.assertEqual(checkpoint_difference, 0.)  # Bit for bit.
    self.assertEqual(export_difference, 0.)


if __name__ == '__main__':
  tf.test.main()
