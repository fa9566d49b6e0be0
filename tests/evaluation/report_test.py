"""Tests of the multi-run report: grouping, mean [95% CI], runs with bootstrap, comparisons."""

import json
import os

from absl.testing import parameterized
import numpy as np
from scipy import stats
import tensorflow as tf

from spreadtf.evaluation import comparisons
from spreadtf.evaluation import per_image
from spreadtf.evaluation import report
from spreadtf.evaluation import statistics
from spreadtf.evaluation import verdicts


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

  def test_runs_in_named_directories_form_configurations_named_by_the_directory(self):
    # Two study configurations with equal configs stay two; their names are their directories.
    first = _run(self.root, 'control_a', 0, 'SPREAD_SCALE = 0.7', {}, {'test_elbo': 1.})
    second = _run(self.root, 'control_b', 0, 'SPREAD_SCALE = 0.7', {}, {'test_elbo': 2.})
    groups = report.group_by_config([report.load_results(w) for w in (first, second)])
    self.assertEqual(list(groups), ['control_a', 'control_b'])
    self.assertEqual(groups['control_a'][0].name, 'control_a')
    self.assertEqual([r.seed for r in self.groups['gaussian']], [0, 1, 2])

  def test_mean_and_standard_error_over_seeds(self):
    mean, stderr, num = report.mean_stderr([100., 110., 120.])
    self.assertEqual((mean, num), (110., 3))
    self.assertAllClose(stderr, 10. / np.sqrt(3.))
    self.assertEqual(report.mean_stderr([5., None]), (5., None, 1))

  def test_mean_interval_drops_missing_values(self):
    self.assertEqual(report.mean_interval([100., None, 110., float('nan'), 120.]),
                     statistics.t_interval([100., 110., 120.]))
    self.assertIsNone(report.mean_interval([None]))

  def test_table_shows_mean_confidence_interval_and_missing_values(self):
    table = report.markdown_table(self.groups)
    lines = table.splitlines()
    self.assertLen(lines, 4)
    self.assertIn('test spread ELBO', lines[0])
    gaussian = lines[2]
    self.assertIn('| gaussian | 3 |', gaussian)
    self.assertIn('110.0 [85.2, 134.8]', gaussian)          # 110 +- 4.303 * 10 / sqrt(3)
    self.assertIn('3.00 [-9.71, 15.71] (2 of 3)', gaussian)  # FD on two seeds: +- 12.706 * 1
    self.assertIn('12 [7, 17]', gaussian)                   # training seconds: +- 4.303 * 2 / 1.73
    self.assertIn('| laplace | 1 | 90.0 |', lines[3])       # one seed: its value, no interval
    self.assertIn('n/a', lines[3])                          # laplace has no FD
    self.assertNotIn('KID', lines[0])                       # no run has it: no column

  def test_runs_table_shows_each_runs_step_and_bootstrap_over_test_images(self):
    workdir = _run(self.root, 'with_images', 4, 'SPREAD_SCALE = 0.6', {},
                   {'test_elbo': -2., 'step': 3520,
                    'checkpoint': os.path.join(self.root, 'with_images', 'seed=4', 'checkpoints',
                                               'best', 'ckpt-9')})
    values = np.random.default_rng(0).normal(-2., 1., 400)
    per_image.write(workdir, test_elbo=values)
    groups = report.group_by_config([report.load_results(w) for w in self.workdirs + [workdir]])
    lines = report.runs_table(groups, num_resamples=500).splitlines()
    self.assertLen(lines, 2 + 5)
    self.assertIn('| step |', lines[0])
    self.assertIn('95% bootstrap CI over test images', lines[0])
    self.assertIn('| gaussian | seed=0 | 0 | n/a | n/a | 100.0 (no per-image values) |', lines[2])
    interval = statistics.bootstrap_interval(values, num_resamples=500)
    self.assertEqual(lines[-1], f'| with_images | seed=4 | 4 | checkpoints/best/ckpt-9 | 3,520 | '
                     f'{interval.estimate:.1f} [{interval.low:.1f}, {interval.high:.1f}] '
                     '(n = 400) |')

  def test_report_tests_declared_comparisons_with_welchs_p(self):
    laplace = [_run(self.root, 'laplace5', s, 'SPREAD_SCALE = 0.25', {},
                    {'test_elbo': v, 'sharpness': h})
               for s, (v, h) in enumerate(zip([130., 135., 128., 140., 131.],
                                              [0.09, 0.095, 0.092, 0.094, 0.093], strict=True))]
    groups = report.group_by_config([report.load_results(w) for w in self.workdirs + laplace])
    text = report.markdown_report(groups, [report.parse_comparison('test_elbo:laplace5>gaussian'),
                                           report.parse_comparison('sharpness:laplace5>gaussian')])
    self.assertEqual([line for line in text.splitlines() if line.startswith('## ')],
                     ['## Configurations', '## Runs', '## Comparisons'])
    row = next(line for line in text.splitlines() if line.startswith('| test_elbo: laplace5'))
    welch = stats.ttest_ind([130., 135., 128., 140., 131.], [100., 110., 120.], equal_var=False)
    # One claim could be tested (gaussian has no sharpness): nothing to adjust.
    self.assertIn(f'| {welch.statistic:.2f} ({welch.df:.1f}) | {verdicts.format_p(welch.pvalue)} '
                  '| ', row)
    self.assertIn(f'holds (p = {verdicts.format_p(welch.pvalue)}, ', row)
    self.assertIn('| 5 + 3 |', row)
    self.assertIn('not tested (n = 5 + 0', text)            # no gaussian run has a sharpness
    self.assertIn('p-values not adjusted (1 tested claim)', text)

  def test_parse_comparison(self):
    self.assertEqual(report.parse_comparison(' frechet_distance : laplace < gaussian '),
                     comparisons.Comparison('frechet_distance', 'laplace', 'gaussian', False))
    self.assertEqual(report.parse_comparison('sharpness:a>b'),
                     comparisons.Comparison('sharpness', 'a', 'b', True))
    for bad in ('sharpness:a=b', 'a>b', 'sharpness:a>b>c', 'sharpness:>b'):
      with self.assertRaisesRegex(ValueError, 'metric:first>second'):
        report.parse_comparison(bad)

  def test_a_comparison_naming_an_unknown_configuration_is_refused(self):
    with self.assertRaisesRegex(ValueError, "'cauchy'.*not among"):
      report.markdown_report(self.groups, [report.parse_comparison('test_elbo:cauchy>gaussian')])

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
