"""spreadtf.studies.study_file: the shipped study files parse; bad studies are refused by name."""

import os

from absl.testing import parameterized
import tensorflow as tf

from spreadtf.evaluation import comparisons
from spreadtf.studies import runner
from spreadtf.studies import study_file

_GOOD = [{'name': 'a', 'gin_files': ['mnist/delta_vae_gaussian.gin', 'smoke.gin']},
         {'name': 'b', 'gin_files': ['mnist/delta_vae_laplace.gin', 'smoke.gin']}]


class StudyFileTest(tf.test.TestCase, parameterized.TestCase):

  def test_mnist5k_study_follows_its_protocol(self):
    # The README's study: seven configurations, at least five seeds, one equal budget with no
    # selection (no early stopping, the last step exported and evaluated) for every run.
    study = study_file.load_study('studies/mnist5k.gin')
    names = [c.name for c in study.configurations]
    self.assertLen(names, 7)
    self.assertContainsSubset({'vae_baseline_matched_laplace', 'delta_vae_injective'}, names)
    self.assertGreaterEqual(len(study.seeds), 5)
    self.assertIn(comparisons.Comparison('sharpness', 'delta_vae_laplace', 'delta_vae_gaussian',
                                         higher_is_better=True), study.comparisons)
    # Every run is scored on one likelihood scale, and the claims use it (the VAE rows too).
    self.assertIn('gaussian:0.3', study.evaluation_options(study.configurations[0])['yardstick'])
    self.assertIn(comparisons.Comparison('yardstick_gaussian_0.3_iw', 'delta_vae_gaussian',
                                         'vae_baseline_matched', higher_is_better=True),
                  study.comparisons)
    points = runner.run_points(study, '/study')
    self.assertLen(points, sum(len(study.seeds_of(c)) for c in study.configurations))
    self.assertGreaterEqual(min(len(study.seeds_of(c)) for c in study.configurations), 5)
    self.assertEqual(points[1].directory, os.path.join('/study', 'vae_baseline', 'seed=1'))
    self.assertLen({p.config for p in points}, len(points))   # every run its own config
    for point in points:
      self.assertIn('mnist5k.make_mnist5k_dataset', point.config)
      self.assertIn('train.num_steps = 5000', point.config)
      self.assertIn('train.stop_after_stalled_evals = None', point.config)
      self.assertIn("train.export_checkpoint = 'latest'", point.config)

  def test_celeba_study_parses_given_its_data_and_inception_weights(self):
    with self.assertRaisesRegex(ValueError, 'INCEPTION_WEIGHTS'):
      study_file.load_study('studies/celeba.gin')
    study = study_file.load_study('studies/celeba.gin', ["INCEPTION_WEIGHTS = '/w/v3.h5'"])
    injective = study.configuration('injective')
    self.assertEqual(injective.after, ('fixed200',))
    self.assertEqual(study.evaluation_options(injective)['inception_weights'], '/w/v3.h5')
    points = runner.run_points(study, '/study', ["DATA_DIR = '/data/celeba'"])
    self.assertEqual([p.name for p in points], ['vae seed=0', 'fixed seed=0', 'fixed200 seed=0',
                                                'injective seed=0'])
    self.assertIn("INIT_CHECKPOINT = '/study/fixed200/seed=0'", points[3].config)
    self.assertIn("DATA_DIR = '/data/celeba'", points[0].config)

  def test_configuration_options_override_the_study_evaluation(self):
    study = study_file.study(
        configurations=[_GOOD[0], dict(_GOOD[1], evaluation={'checkpoint': 'latest'})],
        seeds=[0], evaluation={'checkpoint': 'best', 'gin_bindings': ('A = 1',)})
    self.assertEqual(study.evaluation_options(study.configurations[0]),
                     {'checkpoint': 'best', 'gin_bindings': ['A = 1']})
    self.assertEqual(study.evaluation_options(study.configurations[1])['checkpoint'], 'latest')

  def test_a_configuration_may_run_its_own_seeds(self):
    study = study_file.study(configurations=[_GOOD[0], dict(_GOOD[1], seeds=[0, 2])],
                             seeds=[0, 1, 2, 3])
    self.assertEqual(study.seeds_of(study.configurations[0]), (0, 1, 2, 3))
    self.assertEqual(study.seeds_of(study.configurations[1]), (0, 2))
    points = runner.run_points(study, '/study')
    self.assertEqual([p.name for p in points], ['a seed=0', 'a seed=1', 'a seed=2', 'a seed=3',
                                                'b seed=0', 'b seed=2'])
    self.assertIn('train.seed = 2', points[-1].config)

  @parameterized.named_parameters(
      ('own_seeds_empty', dict(configurations=[dict(_GOOD[0], seeds=[])]),
       "configuration 'a': seeds must be a non-empty list"),
      ('own_seeds_repeated', dict(configurations=[dict(_GOOD[0], seeds=[1, 1])]),
       "configuration 'a': seeds must be a non-empty list of distinct"),
      ('after_a_configuration_without_the_seed', dict(
          configurations=[dict(_GOOD[0], seeds=[0]), dict(_GOOD[1], after=['a'])], seeds=[0, 1]),
       r"runs after 'a', which has no run of seed\(s\) \[1\]"),
      ('unknown_key', dict(configurations=[dict(_GOOD[0], seed=1)]),
       r"unknown key\(s\) \['seed'\]"),
      ('duplicate_name', dict(configurations=[_GOOD[0], _GOOD[0]]), "two configurations are "
       "called 'a'"),
      ('reserved_name', dict(configurations=[dict(_GOOD[0], name='report')]), 'directory name'),
      ('path_as_name', dict(configurations=[dict(_GOOD[0], name='a/b')]), 'directory name'),
      ('one_gin_file_as_a_string', dict(configurations=[dict(_GOOD[0], gin_files='x.gin')]),
       'gin_files must be a non-empty list'),
      ('after_a_later_one', dict(configurations=[dict(_GOOD[0], after=['b']), _GOOD[1]]),
       "runs after 'b', which is not a configuration listed before it"),
      ('no_seeds', dict(seeds=[]), 'study.seeds must be a non-empty list'),
      ('repeated_seed', dict(seeds=[0, 0]), 'distinct non-negative ints'),
      ('unknown_evaluation_option', dict(evaluation={'num_importance_sample': 10}),
       r"unknown evaluation option\(s\) \['num_importance_sample'\]; the options are the flags "
       'of launch/evaluate.py'),
      ('unknown_configuration_option', dict(configurations=[dict(_GOOD[0], evaluation={'K': 1})]),
       r"configuration 'a': unknown evaluation option\(s\) \['K'\]"),
      ('comparison_of_unknown_configuration', dict(comparisons=[
          {'metric': 'kid', 'first': 'a', 'second': 'c', 'higher_is_better': False}]),
       "names the configuration 'c'"),
      ('comparison_of_unknown_metric', dict(comparisons=[
          {'metric': 'fid', 'first': 'a', 'second': 'b', 'higher_is_better': False}]),
       "names the metric 'fid', which the report does not know"),
      ('bad_yardstick', dict(evaluation={'yardstick': 'gaussian:0.3,cauchy:1'}),
       "study.evaluation: cannot read yardstick 'cauchy:1'"),
      ('bad_configuration_yardstick',
       dict(configurations=[dict(_GOOD[0], evaluation={'yardstick': ['laplace:-1']})]),
       "configuration 'a': cannot read yardstick 'laplace:-1'"),
      ('comparison_of_a_yardstick_not_scored', dict(
          evaluation={'yardstick': 'gaussian:0.3'}, comparisons=[
              {'metric': 'yardstick_laplace_0.2_iw', 'first': 'a', 'second': 'b',
               'higher_is_better': True}]),
       "names the metric 'yardstick_laplace_0.2_iw', which the report does not know"))
  def test_bad_study_is_refused_naming_the_entry(self, overrides, message):
    arguments = dict(configurations=_GOOD, seeds=[0], evaluation={}, comparisons=[])
    arguments.update(overrides)
    with self.assertRaisesRegex(ValueError, message):
      study_file.study(**arguments)

  def test_yardstick_metrics_may_be_compared_when_the_study_scores_them(self):
    declared = [{'metric': 'yardstick_gaussian_0.3_ais', 'first': 'a', 'second': 'b',
                 'higher_is_better': True},
                {'metric': 'yardstick_laplace_0.2_iw', 'first': 'a', 'second': 'b',
                 'higher_is_better': True},
                {'metric': 'autoencoder_recall', 'first': 'a', 'second': 'b',
                 'higher_is_better': True}]
    study = study_file.study(
        configurations=[_GOOD[0], dict(_GOOD[1], evaluation={'yardstick': 'laplace:0.2'})],
        seeds=[0], evaluation={'yardstick': ['gaussian:0.3', 'laplace:0.2'], 'ais_steps': 300},
        comparisons=declared)
    self.assertEqual([c.metric for c in study.comparisons],
                     ['yardstick_gaussian_0.3_ais', 'yardstick_laplace_0.2_iw',
                      'autoencoder_recall'])
    # The runner passes a list as one comma-separated flag, which the launcher reads back.
    flags = runner.evaluate_flags(study.evaluation_options(study.configurations[0]))
    self.assertIn('--yardstick=gaussian:0.3,laplace:0.2', flags)

  def test_unknown_gin_file_of_a_configuration_names_it_before_anything_runs(self):
    study = study_file.study(
        configurations=[dict(_GOOD[0], gin_files=['mnist/delta_vae_gausian.gin'])], seeds=[0])
    with self.assertRaisesRegex(FileNotFoundError, "(?s)study configuration 'a': .*Did you mean "
                                'mnist/delta_vae_gaussian.gin'):
      runner.run_points(study, self.create_tempdir().full_path)


if __name__ == '__main__':
  tf.test.main()
