"""Tests of restore_run, training's public boundary: which checkpoint, and clear errors."""

import os
import shutil
import tempfile

from absl.testing import absltest
import gin
import numpy as np
import tensorflow as tf

from spreadtf import gin_parsing
from spreadtf.training import checkpoints
from spreadtf.training import run_restoring
from spreadtf.training import training_run
from spreadtf.training import workdir_layout


def _smoke_run(workdir, bindings):
  gin.clear_config()
  gin.add_config_file_search_path(gin_parsing.GIN_DIR)
  gin.parse_config_files_and_bindings(
      ['mnist/delta_vae_gaussian.gin', 'smoke.gin'], ['train.seed = 0'] + bindings,
      skip_unknown=False)
  metrics = training_run.train(workdir=workdir, verbose=False)
  gin.clear_config()
  return metrics


class RestoreRunTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.root = tempfile.mkdtemp(dir=absltest.TEST_TMPDIR.value)
    cls.addClassCleanup(shutil.rmtree, cls.root)
    cls.run_dir = os.path.join(cls.root, 'run')
    # Adam 1e-2, evaluated every 2 steps: the best held-out ELBO is at step 4 of 8 (stalled
    # twice), so 'best', 'latest' and the exported 'best' are told apart.
    cls.metrics = _smoke_run(cls.run_dir, [
        'train.num_steps = 8', 'train.steps_per_epoch = 2',
        'keras.optimizers.Adam.learning_rate = 1e-2', "train.export_checkpoint = 'best'"])

  def setUp(self):
    super().setUp()
    self.addCleanup(gin.clear_config)
    self.layout = workdir_layout.WorkdirLayout(self.run_dir)

  def _copy(self, name):
    copy = os.path.join(self.create_tempdir().full_path, name)
    shutil.copytree(self.run_dir, copy)
    return workdir_layout.WorkdirLayout(copy)

  def test_restores_the_checkpoint_asked_for(self):
    best_step = self.metrics['best_step']
    self.assertLess(best_step, 8)  # Else 'best' and 'latest' would be the same checkpoint.
    self.assertEqual(self.metrics['exported_step'], best_step)
    for which, step in (('selected', best_step), ('best', best_step), ('latest', 8),
                        (os.path.join(self.layout.checkpoints, 'ckpt-8'), 8)):
      run = run_restoring.restore_run(self.run_dir, which)
      self.assertEqual(run.step, step, which)
      self.assertEqual(checkpoints.checkpoint_step(run.checkpoint), step, which)
      self.assertEqual((run.exported_step, run.is_exported), (best_step, step == best_step))
      self.assertEqual((run.seed, run.global_batch_size, run.workdir), (0, 4, self.run_dir))
    selected = run_restoring.find_checkpoint(self.run_dir)
    self.assertEqual(os.path.dirname(selected), self.layout.best_checkpoints)

  def test_restored_weights_are_the_checkpoints(self):
    run = run_restoring.restore_run(self.run_dir, 'latest')
    reader = tf.train.load_checkpoint(run.checkpoint)
    saved = [np.asarray(reader.get_tensor(name)).tobytes()
             for name, dtype in reader.get_variable_to_dtype_map().items()
             if dtype == tf.float32]
    restored = [v.numpy().tobytes() for v in run.model.decoder.weights]
    self.assertNotEmpty(restored)
    self.assertContainsSubset(restored, saved)  # Each decoder weight, bit for bit.

  def test_a_run_without_an_export_selects_what_its_option_says(self):
    copy = self._copy('no_export')
    shutil.rmtree(copy.export)
    run = run_restoring.restore_run(copy.workdir)  # export_checkpoint = 'best'
    self.assertEqual(os.path.dirname(run.checkpoint), copy.best_checkpoints)
    self.assertEqual((run.exported_step, run.is_exported), (None, False))

  def test_an_exported_checkpoint_that_is_gone_is_named(self):
    copy = self._copy('gone')
    shutil.rmtree(copy.best_checkpoints)
    with self.assertRaisesRegex(FileNotFoundError, r'exported checkpoint .*best/ckpt-\d+.*'
                                r'export_info.json.*no longer exists'):
      run_restoring.restore_run(copy.workdir)

  def test_a_workdir_without_checkpoint_or_config_is_named(self):
    empty = self.create_tempdir().full_path
    with self.assertRaisesRegex(FileNotFoundError, 'operative_config.gin.*does not exist'):
      run_restoring.restore_run(empty)
    shutil.copy(self.layout.operative_config, empty)
    with self.assertRaisesRegex(FileNotFoundError, 'holds no checkpoint.*train it first'):
      run_restoring.restore_run(empty, 'latest')
    with self.assertRaisesRegex(FileNotFoundError, 'nothing.*neither a directory nor a '
                                'checkpoint prefix'):
      run_restoring.restore_run(self.run_dir, os.path.join(empty, 'nothing'))

  def test_a_model_that_does_not_fit_the_checkpoint_is_named(self):
    with self.assertRaisesRegex(RuntimeError, r'cannot restore .*ckpt-\d+.* into the model of '
                                '.*operative_config.gin'):
      run_restoring.restore_run(self.run_dir, gin_bindings=['LATENT_DIM = 3'])


if __name__ == '__main__':
  tf.test.main()
