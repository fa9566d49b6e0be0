"""Tests of the multi-run report: grouping by config, mean +- standard error, table, plots."""

import json
import os

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from spreadtf.evaluation import report


def _run(root, group, seed, config, metrics=None, evaluation=None):
  workdir = os.path.join(root, group, f'seed={seed}')
  os.makedirs(workdir)
  with open(os.path.join(workdir, 'operative_config.gin'), 'w') as f:
    f.write(f'{config}\ntrain.seed = {seed}\ntrain.init_checkpoint = \'/runs/{seed}\'\n')
  for name, content in (('metrics.json', metrics), ('eval.json', evaluation)):
    if content is not None:
      with open(os.path.join(workdir, name), 'w') as f:
        json.dump(content, f)
  return workdir


class ReportTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self.root = self.create_tempdir().full_path
    self.workdirs = [
        _run(self.root, 'gaussian', 0, 'SPREAD_SCALE = 0.3', {'train_seconds': 10.},
             {'test_elbo': 100., 'frechet_distance': 4.}),
        _run(self.root, 'gaussian', 1, 'SPREAD_SCALE = 0.3', {'train_seconds': 14.},
             {'test_elbo': 110., 'frechet_distance': 2.}),
        _run(self.root, 'gaussian', 2, 'SPREAD_SCALE = 0.3', {'train_seconds': 12.},
             {'test_elbo': 120., 'frechet_distance': None}),
        _run(self.root, 'laplace', 0, 'SPREAD_SCALE = 0.2', {'train_seconds': 9.},
             {'test_elbo': 90.}),
    ]
    self.groups = report.group_by_config([report.load_results(w) for w in self.workdirs])

  def test_runs_differing_only_in_seed_form_one_group_named_by_their_folder(self):
    self.assertEqual(list(self.groups), ['gaussian', 'laplace'])
    self.assertLen(self.groups['gaussian'], 3)

  def test_runs_of_different_configs_in_one_folder_stay_apart(self):
    other = _run(self.root, 'gaussian', 3, 'SPREAD_SCALE = 0.5', {}, {'test_elbo': 1.})
    groups = report.group_by_config(
        [report.load_results(w) for w in self.workdirs + [other]])
    self.assertLen(groups, 3)
    self.assertEqual([len(runs) for runs in groups.values()], [3, 1, 1])

  def test_mean_and_standard_error_over_seeds(self):
    mean, stderr, num = report.mean_stderr([100., 110., 120.])
    self.assertEqual((mean, num), (110., 3))
    self.assertAllClose(stderr, 10. / np.sqrt(3.))
    self.assertEqual(report.mean_stderr([5., None]), (5., None, 1))

  def test_table_shows_mean_stderr_and_missing_values(self):
    table = report.markdown_table(self.groups)
    lines = table.splitlines()
    self.assertLen(lines, 4)
    self.assertIn('test spread ELBO', lines[0])
    gaussian = lines[2]
    self.assertIn('| gaussian | 3 |', gaussian)
    self.assertIn('110.0 +- 5.8', gaussian)                 # 10 / sqrt(3) = 5.77
    self.assertIn('3.00 +- 1.00 (2 of 3)', gaussian)        # FD measured on two seeds
    self.assertIn('12 +- 1', gaussian)                      # training seconds from metrics.json
    self.assertIn('n/a', lines[3])                          # laplace has no FD
    self.assertNotIn('KID', lines[0])                       # no run has it: no column

  def test_real_data_reference_is_the_last_row(self):
    run = _run(self.root, 'with_reference', 0, 'SPREAD_SCALE = 0.4', {},
               {'test_elbo': 1., 'frechet_distance': 9., 'sharpness': 0.5, 'sharpness_real': 0.25,
                'real_data_reference': {'frechet_distance': 2.5}})
    groups = report.group_by_config([report.load_results(w) for w in self.workdirs + [run]])
    last = report.markdown_table(groups).splitlines()[-1]
    self.assertTrue(last.startswith('| real images (reference) | |'), last)
    self.assertIn('| 2.50 |', last)
    self.assertIn('| 0.250 |', last)
    self.assertNotIn('| 2.50 |', report.markdown_table(self.groups))  # no reference: no row

  def test_plots_are_written_for_metrics_that_exist(self):
    out = self.create_tempdir().full_path
    metric = next(m for m in report.METRICS if m.key == 'test_elbo')
    path = report.plot_metric(self.groups, metric, os.path.join(out, 'elbo.png'))
    self.assertEqual(tf.io.decode_png(tf.io.read_file(path)).shape[-1], 4)
    kid = next(m for m in report.METRICS if m.key == 'kid')
    self.assertIsNone(report.plot_metric(self.groups, kid, os.path.join(out, 'kid.png')))
    self.assertEqual(os.listdir(out), ['elbo.png'])

  def test_sample_grids_side_by_side(self):
    for workdir in self.workdirs:
      tf.io.write_file(os.path.join(workdir, 'eval_samples.png'),
                       tf.io.encode_png(tf.zeros([8, 8, 1], tf.uint8)))
    path = report.plot_sample_grids(self.groups,
                                    os.path.join(self.create_tempdir().full_path, 's.png'))
    self.assertTrue(os.path.exists(path))

  def test_find_runs_expands_globs_and_names_what_matches_nothing(self):
    root = self.create_tempdir().full_path
    for name in ('a/seed=0', 'a/seed=1', 'b/seed=0'):
      os.makedirs(os.path.join(root, name))
    with open(os.path.join(root, 'a', 'seed=2'), 'w') as f:
      f.write('a file, not a run')
    self.assertEqual(report.find_runs([f'{root}/a/seed=*', f'{root}/b/seed=0']),
                     [f'{root}/a/seed=0', f'{root}/a/seed=1', f'{root}/b/seed=0'])
    with self.assertRaisesRegex(FileNotFoundError, 'c/seed=0.*is not a directory'):
      report.find_runs([f'{root}/a/seed=*', f'{root}/c/seed=0'])
    with self.assertRaisesRegex(FileNotFoundError, r'c/\*.*matches no directory'):
      report.find_runs([f'{root}/c/*'])

  def test_a_directory_without_results_is_named(self):
    empty = self.create_tempdir().full_path
    with self.assertRaisesRegex(FileNotFoundError, 'neither metrics.json nor eval.json'):
      report.load_results(empty)


if __name__ == '__main__':
  tf.test.main()
