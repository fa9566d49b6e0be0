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
    # One seed: its value, no interval; no FD: an empty cell.
    self.assertEqual(lines[3], '| laplace | 1 | 90.0 |  | 9 |')
    self.assertNotIn('KID', lines[0])                       # no run has it: no column
    self.assertEqual(report.markdown_table(self.groups, [report.metric_for('kid')]), '')

  def test_runs_table_shows_each_runs_step_and_seconds(self):
    workdir = _run(self.root, 'with_images', 4, 'SPREAD_SCALE = 0.6', {'train_seconds': 1234.},
                   {'test_elbo': -2., 'step': 3520, 'eval_seconds': 7.25,
                    'checkpoint': os.path.join(self.root, 'with_images', 'seed=4', 'checkpoints',
                                               'best', 'ckpt-9')})
    groups = report.group_by_config([report.load_results(w) for w in self.workdirs + [workdir]])
    lines = report.runs_table(groups).splitlines()
    self.assertLen(lines, 2 + 5)
    self.assertEqual(lines[0], '| configuration | run | seed | checkpoint evaluated | step | '
                     'training (s) | evaluation (s) |')
    self.assertEqual(lines[2], '| gaussian | seed=0 | 0 | n/a | n/a | 10 |  |')
    self.assertEqual(lines[-1], '| with_images | seed=4 | 4 | checkpoints/best/ckpt-9 | 3,520 | '
                     '1,234 | 7.2 |')

  def test_bootstrap_table_over_test_images(self):
    workdir = _run(self.root, 'with_images', 4, 'SPREAD_SCALE = 0.6', {},
                   {'test_elbo': -2., 'yardstick_laplace_0.2_ais': -3.})
    values = np.random.default_rng(0).normal(-2., 1., 400)
    others = np.random.default_rng(1).normal(-3., 2., 50)
    per_image.write(workdir, test_elbo=values, extra=others,
                    **{'yardstick_laplace_0.2_ais': others})   # keys with a dot
    groups = report.group_by_config([report.load_results(w) for w in self.workdirs + [workdir]])
    lines = report.bootstrap_table(groups, num_resamples=500).splitlines()
    self.assertLen(lines, 2 + 5)
    self.assertEqual(lines[0], '| configuration | run | test spread ELBO, nats [95% CI] | '
                     'log q~(y) Laplace 0.2 AIS, nats [95% CI] | extra [95% CI] |')
    self.assertEqual(lines[2], '| gaussian | seed=0 | 100.0 (no per-image values) |  |  |')
    cells = []
    for array, digits in ((values, 1), (others, 1), (others, 3)):
      interval = statistics.bootstrap_interval(array, num_resamples=500)
      cells.append(f'{interval.estimate:.{digits}f} [{interval.low:.{digits}f}, '
                   f'{interval.high:.{digits}f}] (n = {len(array)})')
    self.assertEqual(lines[-1], '| with_images | seed=4 | ' + ' | '.join(cells) + ' |')
    self.assertEqual(report.bootstrap_table(self.groups), '')   # no per-image values at all

  def test_likelihood_and_sample_quality_tables_with_yardstick_and_view_columns(self):
    delta = {'test_elbo': -250., 'ais_log_likelihood': -240., 'yardstick_gaussian_0.3_ais': -241.,
             'yardstick_laplace_0.2_iw': -160., 'yardstick_gaussian_0.3_iw': -246.,
             'yardstick_laplace_0.2_reason': None, 'frechet_distance': 80.,
             'autoencoder_frechet_distance': 12., 'autoencoder_recall': 0.5, 'step': 3000,
             'real_data_reference': {'frechet_distance': 3.},
             'autoencoder_real_data_reference': {'frechet_distance': 1.5, 'recall': 0.9}}
    vae = {'test_elbo': 130., 'yardstick_gaussian_0.3_iw': -330.,
           'yardstick_gaussian_0.3_ais': -290., 'yardstick_laplace_0.2_iw': None,
           'yardstick_laplace_0.2_reason': 'no closed form ...',
           'dequantized_bits_per_dim': 7.74, 'frechet_distance': 78.,
           'autoencoder_frechet_distance': 20., 'autoencoder_recall': 0.6, 'step': 5000}
    runs = [_run(self.root, 'delta', 0, 'A = 1', {'train_seconds': 100.}, delta),
            _run(self.root, 'vae', 0, 'A = 2', {'train_seconds': 80.}, vae)]
    groups = report.group_by_config([report.load_results(w) for w in runs])
    keys = [m.key for m in report.metrics_for(groups)]
    at = keys.index('bdmc_gap') + 1   # between the run's own bounds and the dequantised number
    # The runs' yardstick keys only (no run has Laplace AIS), by kernel, IW before AIS.
    self.assertEqual(keys[at:at + 4], ['yardstick_gaussian_0.3_iw', 'yardstick_gaussian_0.3_ais',
                                       'yardstick_laplace_0.2_iw', 'dequantized_bits_per_dim'])
    text = report.markdown_report(groups)
    self.assertEqual([line for line in text.splitlines() if line.startswith('#')],
                     ['## Configurations', '### Likelihoods', '### Sample quality',
                      '### Steps and time', '## Runs'])
    likelihoods = text[text.index('### Likelihoods'):text.index('### Sample quality')]
    rows = [line for line in likelihoods.splitlines() if line.startswith('|')]
    self.assertEqual(rows[0], '| configuration | seeds | test spread ELBO, nats (up) | '
                     'AIS log p~(y), nats (up) | log q~(y) Gaussian 0.3 IW, nats (up) | '
                     'log q~(y) Gaussian 0.3 AIS, nats (up) | log q~(y) Laplace 0.2 IW, nats (up) '
                     '| dequantised clean data, bits/dim (down) |')
    # Values a configuration has not (dequantised bits/dim of a delta-VAE, a yardstick with no
    # closed form) are empty cells; no reference row in the likelihoods.
    self.assertEqual(rows[2], '| delta | 1 | -250.0 | -240.0 | -246.0 | -241.0 | -160.0 |  |')
    self.assertEqual(rows[3], '| vae | 1 | 130.0 |  | -330.0 | -290.0 |  | 7.740 |')
    self.assertLen(rows, 4)
    quality = text[text.index('### Sample quality'):text.index('### Steps and time')]
    rows = [line for line in quality.splitlines() if line.startswith('|')]
    self.assertEqual(rows[0], '| configuration | seeds | FD (down) | FD, autoencoder view (down) '
                     '| recall, autoencoder view (up) |')
    self.assertEqual(rows[-1], '| real images (reference) | | 3.00 | 1.50 | 0.900 |')
    steps = text[text.index('### Steps and time'):text.index('## Runs')]
    self.assertIn('| delta | 1 | 3,000 | 100 |', steps)

  def test_metric_for_yardstick_keys(self):
    metric = report.metric_for('yardstick_gaussian_0.3_ais')
    self.assertEqual((metric.title, metric.better, metric.section),
                     ('log q~(y) Gaussian 0.3 AIS, nats', 'higher', report.LIKELIHOODS))
    self.assertEqual(report.metric_for('kid').digits, 4)
    self.assertIsNone(report.metric_for('yardstick_gaussian_0.3_iw_stderr'))
    self.assertIsNone(report.metric_for('no_such_metric'))

  def test_timing_table_says_where_the_time_went(self):
    runs = []
    for seed, (train, elbo, ais) in enumerate([(100., 2., 30.), (120., 4., 50.)]):
      runs.append(_run(self.root, 'timed', seed, 'A = 1', {'train_seconds': train},
                       {'seconds': {'elbo': elbo, 'ais': ais, 'total': elbo + ais + 1.}}))
    runs.append(_run(self.root, 'untimed', 0, 'A = 2', {'train_seconds': 50.},
                     {'seconds': {'elbo': 6., 'total': 6.}}))
    groups = report.group_by_config([report.load_results(w) for w in runs])
    lines = report.timing_table(groups).splitlines()
    # All time: training 270 + evaluation (33 + 55 + 6) = 364 seconds.
    self.assertEqual(lines[0], '| part | timed | untimed | all runs (s) | share |')
    self.assertEqual(lines[2], '| training | 110 | 50 | 270 | 74.2% |')
    self.assertEqual(lines[3], '| elbo | 3.0 | 6.0 | 12 | 3.3% |')
    self.assertEqual(lines[4], '| ais | 40 |  | 80 | 22.0% |')
    self.assertEqual(lines[5], '| evaluation, other | 1.0 | 0.0 | 2.0 | 0.5% |')
    self.assertIn('## Evaluation time', report.markdown_report(groups))
    self.assertEqual(report.timing_table(self.groups), '')   # no eval.json seconds

  def test_comparisons_accept_yardstick_and_view_metrics(self):
    runs = []
    for name, offset in (('delta', 0.), ('vae', -60.)):
      for seed in range(3):
        runs.append(_run(self.root, name, seed, f'A = {name!r}', {},
                         {'yardstick_gaussian_0.3_ais': -240. + offset + seed,
                          'autoencoder_kid': 0.01 * (seed + 1) - offset * 1e-3}))
    groups = report.group_by_config([report.load_results(w) for w in runs])
    text = report.markdown_report(groups, [
        report.parse_comparison('yardstick_gaussian_0.3_ais:delta>vae'),
        report.parse_comparison('autoencoder_kid:delta<vae')])
    row = next(line for line in text.splitlines()
               if line.startswith('| yardstick_gaussian_0.3_ais: delta > vae'))
    self.assertIn('| 60.0 [', row)                           # the metric's one decimal
    self.assertIn('holds', row)
    self.assertIn('| autoencoder_kid: delta < vae | 3 + 3 | -0.0600 [', text)

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
