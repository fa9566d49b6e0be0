"""Every shipped delta-VAE gin file parses, and every experiment runs 2 steps with smoke.gin."""

import glob
import os

from absl.testing import parameterized
import gin
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from spreadtf import gin_parsing
from spreadtf.evaluation import evaluation_run as evaluation
from spreadtf.models import spread_vae
from spreadtf.training import spread_learning
from spreadtf.training import training_run


def _relative(pattern):
  return sorted(os.path.relpath(p, gin_parsing.GIN_DIR)
                for p in glob.glob(os.path.join(gin_parsing.GIN_DIR, pattern)))


# Layers compose experiments; ica/ holds the ICA root's configs (tests/ica/ica_run_test.py),
# studies/ the study files (tests/studies/study_file_test.py).
# Every other folder of gin/ holds delta-VAE experiments, so a new one is smoke-tested here.
_LAYER_FOLDERS = ('data', 'model', 'spread')
_NOT_DELTA_VAE = ('ica', 'studies')
_FOLDERS = sorted(name for name in os.listdir(gin_parsing.GIN_DIR)
                  if os.path.isdir(os.path.join(gin_parsing.GIN_DIR, name)))
_EXPERIMENTS = [path for folder in _FOLDERS if folder not in _LAYER_FOLDERS + _NOT_DELTA_VAE
                for path in _relative(f'{folder}/*.gin')]
# Experiments that start from another run's checkpoint: the smoke test trains that run first.
_INIT_FROM = {'celeba/delta_vae_injective.gin': 'celeba/delta_vae_gaussian.gin'}
_LAYERS = [path for folder in _LAYER_FOLDERS for path in _relative(f'{folder}/*.gin')]
# Experiments whose parts the default tier already runs: the CelebA VAE baseline is the conv
# networks of celeba/delta_vae_gaussian.gin with the observation-noise layer of
# mnist/vae_baseline.gin; the MNIST low-rank config runs on the real digits below. Slow tier.
_SMOKED_ELSEWHERE = ('celeba/vae_baseline.gin', 'mnist/delta_vae_lowrank.gin')


def _name(path):
  return path[:-len('.gin')].replace('/', '_')


class GinConfigsTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)
    gin.add_config_file_search_path(gin_parsing.GIN_DIR)

  def _train(self, files, bindings=(), workdir=None):
    gin.parse_config_files_and_bindings(files, ['train.seed = 0'] + list(bindings),
                                        skip_unknown=False)
    with tfds.testing.mock_data(num_examples=8):  # Never a real download.
      return training_run.train(workdir=workdir or self.create_tempdir().full_path, verbose=False)

  @parameterized.named_parameters((_name(p), p) for p in _EXPERIMENTS
                                  if p not in _INIT_FROM and p not in _SMOKED_ELSEWHERE)
  def test_experiment_runs_two_smoke_steps(self, path):
    self._check_two_smoke_steps(path)

  @parameterized.named_parameters((_name(p), p) for p in _SMOKED_ELSEWHERE)
  @pytest.mark.slow
  def test_experiment_smoked_elsewhere_runs_two_smoke_steps(self, path):
    self._check_two_smoke_steps(path)

  # These first train the run they start from (a CelebA conv run: about a minute in all).
  @parameterized.named_parameters((_name(p), p) for p in _INIT_FROM)
  @pytest.mark.slow
  def test_experiment_from_another_run_runs_two_smoke_steps(self, path):
    self._check_two_smoke_steps(path)

  def _check_two_smoke_steps(self, path):
    bindings = []
    if path in _INIT_FROM:
      init_workdir = self.create_tempdir().full_path
      gin.parse_config_files_and_bindings([_INIT_FROM[path], 'smoke.gin'], ['train.seed = 1'],
                                          skip_unknown=False)
      with tfds.testing.mock_data(num_examples=8):
        training_run.train(workdir=init_workdir, verbose=False)
      gin.clear_config()
      bindings = [f"INIT_CHECKPOINT = '{init_workdir}'"]
    workdir = self.create_tempdir().full_path
    # No SavedModel export: it costs more than the two steps; tests/export covers it.
    metrics = self._train([path, 'smoke.gin'], bindings + ['train.export = False'], workdir)
    self.assertEqual(metrics['steps'], 2)
    self.assertTrue(np.isfinite(metrics['train_elbo']))
    self.assertTrue(np.isfinite(metrics['validation_elbo']))
    if path.startswith('celeba/'):  # The CelebA smoke runs go through the evaluation too.
      with tfds.testing.mock_data(num_examples=8):
        result = evaluation.evaluate(workdir, num_importance_samples=2, verbose=False)
      self.assertTrue(np.isfinite(result['iw_log_likelihood']))
      self.assertEqual(result['step'], 2)
    if 'spread_phases' in metrics:  # Learned spreads: smoke.gin runs a phase before each step.
      self.assertEqual((metrics['spread_phases'], metrics['spread_steps']), (2, 4))
      self.assertGreaterEqual(metrics['spread_objective_after'],
                              metrics['spread_objective_before'])

  def test_init_checkpoint_is_required_where_the_paper_starts_from_a_fixed_spread(self):
    with self.assertRaisesRegex(ValueError, 'INIT_CHECKPOINT'):
      gin.parse_config_files_and_bindings(['celeba/delta_vae_injective.gin', 'smoke.gin'],
                                          ['train.seed = 0'], skip_unknown=False)

  def test_tfds_data_layer_runs_under_mock_data(self):
    self._check_tfds_layer('mnist/delta_vae_gaussian.gin')

  @pytest.mark.slow
  def test_tfds_data_layer_runs_under_mock_data_celeba(self):
    self._check_tfds_layer('celeba/delta_vae_gaussian.gin')

  def _check_tfds_layer(self, path):
    metrics = self._train([path, 'smoke.gin'], ['train.data_fn = @tfds_images.make_tfds_dataset',
                                                'tfds_images.make_tfds_dataset.download = True'])
    self.assertEqual(metrics['steps'], 2)
    self.assertTrue(np.isfinite(metrics['train_elbo']))

  @parameterized.named_parameters((_name(p), p) for p in _relative('mnist/*.gin'))
  def test_mnist_experiment_parses_with_the_offline_real_digits(self, path):
    gin.parse_config_files_and_bindings([path, 'data/mnist5k.gin'], ['train.seed = 0'],
                                        skip_unknown=False)
    self.assertIn('@mnist5k.make_mnist5k_dataset', gin.config_str())

  def test_mnist_experiment_runs_on_the_offline_real_digits(self):
    # data/mnist5k.gin after smoke.gin: tiny widths, but the real 28x28 digits, their split and
    # mnist5k's spread schedule (the learned spread's config uses every macro of the layer).
    metrics = self._train(['mnist/delta_vae_lowrank.gin', 'smoke.gin', 'data/mnist5k.gin'],
                          ['train.num_steps = 2', 'train.steps_per_epoch = 2',
                           'train.eval_steps = 1', 'SPREAD_START = 0', 'SPREAD_PERIOD = 1',
                           'SPREAD_STEPS = 2'])
    self.assertEqual(metrics['steps'], 2)
    self.assertEqual(metrics['spread_phases'], 2)
    self.assertTrue(np.isfinite(metrics['validation_elbo']))

  @pytest.mark.slow
  def test_injective_spread_runs_on_the_real_digits(self):
    # smoke.gin's schedule (a 2-step phase before each of 2 steps) on real 28x28x1 digits
    # through the conv g (1 -> 32 -> 32 -> 1 channels); the schedules themselves are below.
    metrics = self._train(['mnist/delta_vae_injective.gin', 'smoke.gin', 'data/mnist5k.gin'],
                          ['train.num_steps = 2', 'train.steps_per_epoch = 2',
                           'train.eval_steps = 1', 'train.export = False'])
    self.assertEqual((metrics['steps'], metrics['spread_phases'], metrics['spread_steps']),
                     (2, 2, 4))
    self.assertTrue(np.isfinite(metrics['validation_elbo']))
    self.assertGreaterEqual(metrics['spread_objective_after'], metrics['spread_objective_before'])

  @parameterized.named_parameters(
      # (start, period, ascent steps): one epoch, then every 5 (low-rank, ours) or 10 epochs
      # (injective, the paper's); TFDS mnist has 550 steps per epoch, mnist5k 35, where each
      # phase has as many ascent steps as the model takes between phases.
      ('lowrank_tfds', 'mnist/delta_vae_lowrank.gin', (), (550, 2750, 1000)),
      ('lowrank_mnist5k', 'mnist/delta_vae_lowrank.gin', ('data/mnist5k.gin',), (35, 175, 175)),
      ('injective_tfds', 'mnist/delta_vae_injective.gin', (), (550, 5500, 1000)),
      ('injective_mnist5k', 'mnist/delta_vae_injective.gin', ('data/mnist5k.gin',),
       (35, 350, 350)))
  def test_learned_spread_schedules_in_the_data_layers_epochs(self, path, data, expected):
    gin.parse_config_files_and_bindings([path, *data], ['train.seed = 0'], skip_unknown=False)
    schedule = spread_learning.make_spread_schedule()
    self.assertEqual((schedule.start_step, schedule.period, schedule.num_steps), expected)
    self.assertEqual(gin.query_parameter('train.steps_per_epoch'), 35 if data else 550)

  def test_matched_laplace_vae_is_the_laplace_delta_vae_on_clean_data(self):
    configs = {}
    for path in ('mnist/delta_vae_laplace.gin', 'mnist/vae_baseline_matched_laplace.gin'):
      gin.clear_config()
      gin.parse_config_files_and_bindings([path, 'data/mnist5k.gin'], ['train.seed = 0'],
                                          skip_unknown=False)
      model = spread_vae.make_spread_vae(seed=0)
      # The scale is a float32 tensor: 0.2 to float32 precision.
      configs[path] = (type(model.spread).__name__, round(float(model.spread.scale), 6),
                       model.spread_data)
    self.assertEqual(configs, {'mnist/delta_vae_laplace.gin': ('LaplaceSpread', 0.2, True),
                               'mnist/vae_baseline_matched_laplace.gin':
                                   ('LaplaceSpread', 0.2, False)})

  @parameterized.named_parameters((_name(p), p) for p in _LAYERS)
  def test_layer_parses_on_an_experiment(self, path):
    gin.parse_config_files_and_bindings(['celeba/delta_vae_gaussian.gin', path],
                                        ['train.seed = 0', "DATA_DIR = '/data'",
                                         'EVENT_SIZE = 12288'],
                                        skip_unknown=False)

  @pytest.mark.slow
  def test_celeba_folder_layer_runs_on_a_small_folder(self):
    folder = self.create_tempdir('img_align_celeba').full_path
    for i in range(6):
      pixels = tf.constant(np.random.RandomState(i).randint(0, 256, (218, 178, 3), np.uint8))
      tf.io.write_file(os.path.join(folder, f'{i:06d}.jpg'), tf.io.encode_jpeg(pixels))
    metrics = self._train(
        ['celeba/delta_vae_gaussian.gin', 'data/celeba_folder.gin', 'smoke.gin'],
        [f"DATA_DIR = '{folder}'", 'train.data_fn = @folder.make_folder_dataset',
         'folder.make_folder_dataset.num_test = 2', 'folder.make_folder_dataset.num_validation = 2',
         'train.global_batch_size = 2'])
    self.assertEqual(metrics['steps'], 2)
    self.assertTrue(np.isfinite(metrics['train_elbo']))

  def test_every_shipped_file_is_covered(self):
    everything = {os.path.relpath(p, gin_parsing.GIN_DIR)
                  for p in glob.glob(os.path.join(gin_parsing.GIN_DIR, '**', '*.gin'),
                                     recursive=True)}
    self.assertContainsSubset({'base.gin', 'smoke.gin', 'mnist/delta_vae_gaussian.gin',
                               'celeba/delta_vae_injective.gin'}, set(_EXPERIMENTS) | everything)
    ica = {p for p in everything if p.split('/')[0] in _NOT_DELTA_VAE}
    self.assertEmpty(everything - set(_EXPERIMENTS) - set(_LAYERS) - ica
                     - {'base.gin', 'smoke.gin'})

  def test_unknown_binding_is_an_error(self):
    with self.assertRaisesRegex(ValueError, 'stepz'):
      gin.parse_config_files_and_bindings(['mnist/vae_baseline.gin'], ['train.num_stepz = 2'],
                                          skip_unknown=False)


if __name__ == '__main__':
  tf.test.main()
