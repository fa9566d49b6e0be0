"""Tests of the workdir layout: every path a run writes, named once."""

import os

import tensorflow as tf

from spreadtf.training import checkpoints
from spreadtf.training import workdir_layout


class WorkdirLayoutTest(tf.test.TestCase):

  def test_names_every_path_of_a_run_inside_its_workdir(self):
    layout = workdir_layout.WorkdirLayout('/runs/a')
    expected = {
        'run_config': 'run_config.json', 'operative_config': 'operative_config.gin',
        'checkpoints': 'checkpoints', 'best_checkpoints': 'checkpoints/best',
        'tensorboard': 'tensorboard', 'tensorboard_eval': 'tensorboard/eval',
        'metrics': 'metrics.json', 'eval': 'eval.json', 'eval_per_image': 'eval_per_image.npz',
        'export': 'export',
        'export_info': 'export/export_info.json', 'eval_samples': 'eval_samples.png',
        'spread_eigenvectors': 'spread_eigenvectors.png'}
    for name, relative in expected.items():
      self.assertEqual(getattr(layout, name), os.path.join('/runs/a', relative), name)
    self.assertEqual(layout.best_checkpoints, checkpoints.best_directory(layout.checkpoints))

  def test_a_workers_scratch_directory_is_laid_out_as_a_workdir(self):
    scratch = workdir_layout.WorkdirLayout('/runs/a').worker_scratch(3)
    self.assertEqual(scratch.workdir, '/runs/a/.worker_3')
    self.assertEqual(scratch.checkpoints, '/runs/a/.worker_3/checkpoints')
    self.assertNotEqual(scratch, workdir_layout.WorkdirLayout('/runs/a'))

  def test_relative_paths_resolve_in_a_moved_workdir(self):
    relative = workdir_layout.WorkdirLayout('/runs/a').relative('/runs/a/checkpoints/best/ckpt-4')
    self.assertEqual(relative, 'checkpoints/best/ckpt-4')
    self.assertEqual(workdir_layout.WorkdirLayout('/moved/a').resolve(relative),
                     '/moved/a/checkpoints/best/ckpt-4')


if __name__ == '__main__':
  tf.test.main()
