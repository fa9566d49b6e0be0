"""Tests of the evaluation root: a smoke run scored end to end, errors, reproducibility."""

import hashlib
import json
import os
import re
import shutil
import tempfile

from absl.testing import absltest
from absl.testing import parameterized
import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from spreadtf import gin_parsing
from spreadtf import seeding
from spreadtf.evaluation import evaluation_run
from spreadtf.evaluation import features as features_lib
from spreadtf.evaluation import likelihood
from spreadtf.evaluation import per_image
from spreadtf.evaluation import yardstick
from spreadtf.training import run_restoring
from spreadtf.training import training_run as training
from spreadtf.training import workdir_layout


def _smoke_run(workdir, extra=()):
  gin.clear_config()
  gin.add_config_file_search_path(gin_parsing.GIN_DIR)
  gin.parse_config_files_and_bindings(
      ['mnist/delta_vae_gaussian.gin', 'smoke.gin'],
      ['train.seed = 0', 'fake.make_fake_dataset.num_examples = 24'] + list(extra),
      skip_unknown=False)
  metrics = training.train(workdir=workdir, verbose=False)
  gin.clear_config()
  return metrics


def _decode(decoder, latent_dim):
  """The decoder's images of fixed latent codes, as a NumPy array."""
  z = tf.random.stateless_normal([5, latent_dim], seed=[0, 0])
  return np.asarray(decoder(z))


def _decode_restored(model):
  # As a graph, as the export runs: eager kernels round differently (by ~1e-7 here).
  return _decode(tf.function(model.decoder), model.latent_dim)


def _decode_exported(workdir, latent_dim):
  exported = tf.saved_model.load(workdir_layout.WorkdirLayout(workdir).export)
  return _decode(lambda z: exported.decode(z)['images'], latent_dim)


class EvaluateTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.root = tempfile.mkdtemp(dir=absltest.TEST_TMPDIR.value)
    cls.addClassCleanup(shutil.rmtree, cls.root)
    cls.run_dir = os.path.join(cls.root, 'run')
    _smoke_run(cls.run_dir)

  def setUp(self):
    super().setUp()
    self.addCleanup(gin.clear_config)
    for name in ('eval.json', 'eval_samples.png', 'eval_per_image.npz'):
      if os.path.exists(os.path.join(self.run_dir, name)):
        os.remove(os.path.join(self.run_dir, name))

  def test_writes_eval_json_with_likelihoods_of_the_held_out_split(self):
    result = evaluation_run.evaluate(self.run_dir, num_importance_samples=8, verbose=False)
    with open(os.path.join(self.run_dir, 'eval.json')) as f:
      written = json.load(f)
    self.assertEqual(written['step'], 2)
    self.assertEqual(written['num_test_images'], 24)   # the whole fake test split, batch 4
    self.assertEqual(written['iw_num_samples'], 8)
    self.assertEqual(written['spread'], {'class': 'GaussianSpread', 'scale': 0.3})
    for key in ('test_elbo', 'test_elbo_bits_per_dim', 'iw_log_likelihood',
                'iw_log_likelihood_stderr'):
      self.assertTrue(np.isfinite(written[key]), key)
    self.assertAllClose(written['test_elbo'], result['test_elbo'])
    # bits per dimension of the same number: -nats / (784 ln 2)
    self.assertAllClose(written['test_elbo_bits_per_dim'],
                        -written['test_elbo'] / (784 * np.log(2.)))
    grid = tf.io.decode_png(tf.io.read_file(os.path.join(self.run_dir, 'eval_samples.png')))
    self.assertEqual(grid.shape, (8 * 28, 8 * 28, 1))
    self.assertNotEmpty(tf.io.gfile.glob(os.path.join(self.run_dir, 'tensorboard', 'eval', '*')))

  def test_a_rerun_gives_the_same_numbers(self):
    first = evaluation_run.evaluate(self.run_dir, num_importance_samples=4, verbose=False)
    again = evaluation_run.evaluate(self.run_dir, num_importance_samples=4, verbose=False)
    other = evaluation_run.evaluate(self.run_dir, num_importance_samples=4, seed=1, verbose=False)
    for key in ('test_elbo', 'iw_log_likelihood'):
      self.assertEqual(first[key], again[key])
      self.assertNotEqual(first[key], other[key])

  def test_writes_the_ais_bdmc_and_sweep_fields_on_request(self):
    evaluation_run.evaluate(self.run_dir, num_importance_samples=4, verbose=False,
                            likelihood_options=dict(iw_sweep=[1, 4], ais_steps=3, ais_chains=2,
                                                    max_ais_images=4, bdmc=True))
    with open(os.path.join(self.run_dir, 'eval.json')) as f:
      written = json.load(f)
    # The sweep's K = 4 and the IW field score the same spread draws with the same seed.
    self.assertEqual(written['iw_sweep'][1]['log_likelihood'], written['iw_log_likelihood'])
    for key in ('ais_log_likelihood', 'ais_log_likelihood_stderr', 'bdmc_gap', 'iw_sweep_elbo'):
      self.assertTrue(np.isfinite(written[key]), key)
    self.assertEqual((written['ais_num_images'], written['bdmc_num_images']), (4, 4))

  def test_per_image_values_are_those_whose_means_eval_json_holds(self):
    evaluation_run.evaluate(
        self.run_dir, num_importance_samples=4, max_likelihood_images=20, verbose=False,
        likelihood_options=dict(iw_sweep=[1, 8], ais_steps=3, ais_chains=2, max_ais_images=4),
        yardsticks='gaussian:0.3,laplace:0.2')
    with open(os.path.join(self.run_dir, 'eval.json')) as f:
      written = json.load(f)
    values = per_image.read(self.run_dir)
    lengths = {'test_elbo': 24, 'iw_log_likelihood': 20, 'iw_largest_k_log_likelihood': 24,
               'ais_log_likelihood': 4, 'yardstick_gaussian_0.3_iw': 20,
               'yardstick_gaussian_0.3_ais': 4, 'yardstick_laplace_0.2_iw': 20,
               'yardstick_laplace_0.2_ais': 4}
    self.assertEqual({key: len(array) for key, array in values.items()}, lengths)
    for key, array in values.items():
      # eval.json's mean is the float64 mean of the same values: equal to rounding.
      self.assertAllClose(array.mean(), written[key], rtol=1e-12, atol=0., msg=key)
    self.assertEqual(written['iw_largest_k'], 8)
    # The delta-VAE's own kernel is the Gaussian yardstick: its own values, not computed again
    # (tests/evaluation/yardstick_test.py shows that computing them gives the same numbers).
    self.assertEqual((written['yardstick_gaussian_0.3_is_own_kernel'],
                      written['yardstick_laplace_0.2_is_own_kernel']), (True, False))
    self.assertAllEqual(values['yardstick_gaussian_0.3_iw'], values['iw_log_likelihood'])
    self.assertAllEqual(values['yardstick_gaussian_0.3_ais'], values['ais_log_likelihood'])
    self.assertNotIn('yardstick_gaussian_0.3_iw', written['seconds'])

  def test_yardsticks_score_runs_of_other_families_on_the_same_spread_data(self):
    yardsticks = ['gaussian:0.3', 'laplace:0.2']
    delta = evaluation_run.evaluate(self.run_dir, num_importance_samples=4, verbose=False,
                                    yardsticks=yardsticks)
    # The same weights read as a VAE baseline with observation noise 0.5: another model, another
    # own kernel, and clean held-out data for its own likelihoods.
    vae = evaluation_run.evaluate(
        self.run_dir, num_importance_samples=4, verbose=False, yardsticks=yardsticks,
        gin_bindings=['spread_vae.make_spread_vae.spread_data = False', 'SPREAD_SCALE = 0.5'])
    self.assertEqual((delta['spread_data'], vae['spread_data']), (True, False))
    self.assertEqual(delta['yardsticks'], ['gaussian:0.3', 'laplace:0.2'])
    run = run_restoring.restore_run(self.run_dir)
    real = evaluation_run.held_out_images(run, 'test')
    seed = tf.constant(seeding.stateless_seed(0, 'elbo'))
    for spec, model_result in (('gaussian:0.3', delta), ('gaussian:0.3', vae),
                               ('laplace:0.2', delta)):
      (chosen,) = yardstick.parse(spec)
      direct = likelihood.draw_spread(chosen.kernel(), real, seed)
      self.assertEqual(model_result[f'{chosen.key}_draws_sha256'],
                       hashlib.sha256(direct.tobytes()).hexdigest(), spec)
    self.assertNotEqual(delta['yardstick_gaussian_0.3_iw'], vae['yardstick_gaussian_0.3_iw'])
    self.assertEqual(delta['yardstick_gaussian_0.3_iw'], delta['iw_log_likelihood'])
    self.assertFalse(vae['yardstick_gaussian_0.3_is_own_kernel'])
    self.assertEqual(vae['yardstick_gaussian_0.3_decoder'], 'GaussianSpread 0.5831')
    # No closed form for a Gaussian-noise VAE under a Laplace kernel: empty, with the reason.
    self.assertIsNone(vae['yardstick_laplace_0.2_iw'])
    self.assertIn('no closed form', vae['yardstick_laplace_0.2_reason'])
    self.assertNotIn('yardstick_laplace_0.2_iw', per_image.read(self.run_dir))
    self.assertTrue(np.isfinite(delta['yardstick_laplace_0.2_iw']))

  def test_a_bad_yardstick_is_refused_before_any_work(self):
    with self.assertRaisesRegex(ValueError, "cannot read yardstick 'cauchy:0.3'"):
      evaluation_run.evaluate(self.run_dir, yardsticks='cauchy:0.3', verbose=False)
    with self.assertRaisesRegex(ValueError, 'num_importance_samples > 0 or ais_steps > 0'):
      evaluation_run.evaluate(self.run_dir, num_importance_samples=0, yardsticks='laplace:0.2',
                              verbose=False)
    self.assertFalse(os.path.exists(os.path.join(self.run_dir, 'eval.json')))

  def test_eval_json_times_each_part(self):
    images = keras.Input((28, 28, 1))
    pooled = keras.layers.GlobalAveragePooling2D()(images)
    views = {name: features_lib.load_feature_extractor(keras.Model(images, pooled))
             for name in ('classifier', 'autoencoder')}
    result = evaluation_run.evaluate(
        self.run_dir, num_importance_samples=4, feature_extractor=views, num_sample_sets=2,
        verbose=False, likelihood_options=dict(iw_sweep=[1, 2], ais_steps=2, ais_chains=2,
                                               max_ais_images=2),
        yardsticks='laplace:0.2')
    seconds = result['seconds']
    self.assertEqual(list(seconds), [
        'restore', 'test_images', 'elbo', 'iw', 'iw_sweep_setup', 'iw_sweep_k1', 'iw_sweep_k2',
        'ais', 'yardstick_laplace_0.2_draws', 'yardstick_laplace_0.2_iw',
        'yardstick_laplace_0.2_ais', 'sharpness_and_grid', 'validation_images',
        'sample_quality_generation', 'sample_quality_classifier', 'sample_quality_autoencoder',
        'total'])
    self.assertTrue(all(value >= 0. for value in seconds.values()), seconds)
    self.assertEqual(seconds['total'], result['eval_seconds'])
    # The parts do not overlap: together they are at most the total.
    self.assertLessEqual(sum(v for k, v in seconds.items() if k != 'total'), seconds['total'])

  def test_scores_the_exported_weights_not_fresh_ones(self):
    # The run exported its latest checkpoint (the default): the restored decoder is that one,
    # bit for bit, and eval.json says so.
    run = run_restoring.restore_run(self.run_dir)
    self.assertAllEqual(_decode_restored(run.model),
                        _decode_exported(self.run_dir, run.model.latent_dim))
    self.assertEqual((run.step, run.exported_step, run.is_exported), (2, 2, True))
    result = evaluation_run.evaluate(self.run_dir, num_importance_samples=0, verbose=False)
    self.assertEqual((result['step'], result['exported_step'], result['evaluated_is_exported']),
                     (2, 2, True))

  def test_sample_quality_in_a_given_feature_space(self):
    images = keras.Input((28, 28, 1))
    features = keras.layers.Dense(3, kernel_initializer='ones')(keras.layers.Flatten()(images))
    extractor = features_lib.load_feature_extractor(keras.Model(images, features))
    result = evaluation_run.evaluate(self.run_dir, num_importance_samples=0,
                                 feature_extractor=extractor, num_sample_sets=2, verbose=False)
    self.assertNotIn('iw_log_likelihood', result)
    for key in ('frechet_distance', 'kid', 'precision', 'recall'):
      self.assertTrue(np.isfinite(result[key]), key)
      self.assertIn(key, result['real_data_reference'])
    for key in ('frechet_distance', 'kid'):   # two different generated sets
      self.assertGreater(result[f'{key}_std_over_sets'], 0.)
    self.assertEqual((result['num_generated'], result['num_sample_sets']), (24, 2))
    self.assertIn('kind', result['feature_extractor'])

  def test_several_views_over_five_sets_by_default(self):
    def dense_extractor(units, value):
      images = keras.Input((28, 28, 1))
      flat = keras.layers.Flatten()(images)
      dense = keras.layers.Dense(units, kernel_initializer=keras.initializers.Constant(value))
      return features_lib.load_feature_extractor(keras.Model(images, dense(flat)))

    views = {'first': dense_extractor(3, 1.), 'second': dense_extractor(2, 0.5)}
    result = evaluation_run.evaluate(self.run_dir, num_importance_samples=0,
                                     feature_extractor=views, verbose=False)
    with open(os.path.join(self.run_dir, 'eval.json')) as f:
      written = json.load(f)
    self.assertEqual(result['num_sample_sets'], 5)
    for prefix in ('', 'second_'):
      for key in ('frechet_distance', 'kid', 'precision', 'recall'):
        self.assertTrue(np.isfinite(written[prefix + key]), prefix + key)
        self.assertGreater(written[prefix + key + '_std_over_sets'], -1e-12)
      self.assertIn('kid', written[prefix + 'real_data_reference'])
    self.assertNotIn('first_frechet_distance', written)
    self.assertEqual(list(written['feature_extractors']), ['first', 'second'])
    self.assertEqual(written['feature_extractor'], written['feature_extractors']['first'])
    # Both views score the same five generated sets. Their features are the pixel sum s, as
    # (s, s, s) and (s / 2, s / 2): squared distances scale by 3 and 1 / 2, so FD differs by
    # a factor 6 and the nearest neighbours, hence precision and recall, are the same.
    self.assertAllClose(written['frechet_distance'], 6. * written['second_frechet_distance'],
                        rtol=1e-5)
    for key in ('precision', 'recall'):
      self.assertEqual(written[key], written['second_' + key])

  def test_extractor_of_another_image_shape_is_refused_before_any_work(self):
    images = keras.Input((64, 64, 3))
    extractor_model = keras.Model(images, keras.layers.GlobalAveragePooling2D()(images))
    extractor = features_lib.load_feature_extractor(extractor_model)
    with self.assertRaisesRegex(ValueError, r'64, 64, 3.*28, 28, 1|28, 28, 1.*64, 64, 3'):
      evaluation_run.evaluate(self.run_dir, feature_extractor=extractor, verbose=False)
    self.assertFalse(os.path.exists(os.path.join(self.run_dir, 'eval.json')))

  def test_a_workdir_without_checkpoint_is_named(self):
    workdir = self.create_tempdir().full_path
    shutil.copy(os.path.join(self.run_dir, 'operative_config.gin'), workdir)
    with self.assertRaisesRegex(FileNotFoundError, 'holds no checkpoint'):
      evaluation_run.evaluate(workdir, verbose=False)
    with self.assertRaisesRegex(FileNotFoundError, 'operative_config.gin'):
      evaluation_run.evaluate(self.create_tempdir().full_path, verbose=False)

  def test_a_misspelt_macro_in_the_bindings_is_named_before_any_work(self):
    with self.assertRaisesRegex(ValueError, r"\['SPREAD_SCALEE'\].*SPREAD_SCALE"):
      evaluation_run.evaluate(self.run_dir, gin_bindings=['SPREAD_SCALEE = 0.5'], verbose=False)
    self.assertFalse(os.path.exists(os.path.join(self.run_dir, 'eval.json')))

  def test_a_gin_syntax_error_in_the_runs_config_or_a_binding_is_named_before_any_work(self):
    with self.assertRaisesRegex(ValueError, re.escape(
        "gin syntax error in binding 1 of 1 (--gin_bindings='DATA_DIR = (1'), line 1: '(' is "
        'never closed')):
      evaluation_run.evaluate(self.run_dir, gin_bindings=['DATA_DIR = (1'], verbose=False)
    self.assertFalse(os.path.exists(os.path.join(self.run_dir, 'eval.json')))
    workdir = os.path.join(self.create_tempdir().full_path, 'run')
    shutil.copytree(self.run_dir, workdir)
    config = os.path.join(workdir, 'operative_config.gin')
    with open(config) as f:
      num_lines = len(f.read().splitlines())
    with open(config, 'a') as f:
      f.write('train.seed = [0,\n')   # e.g. an edit cut short
    with self.assertRaisesRegex(ValueError, re.escape(
        f"gin syntax error in gin file {config!r}, line {num_lines + 1}: '[' is never closed")):
      evaluation_run.evaluate(workdir, verbose=False)
    self.assertFalse(os.path.exists(os.path.join(workdir, 'eval.json')))

  def test_best_falls_back_to_the_latest_and_the_old_names_still_work(self):
    layout = workdir_layout.WorkdirLayout(self.run_dir)
    best = run_restoring.find_checkpoint(self.run_dir, 'best')
    self.assertEqual(os.path.dirname(best), layout.best_checkpoints)
    self.assertEqual(evaluation_run.find_checkpoint(self.run_dir), best)  # The old default.
    copy = os.path.join(self.root, 'no_best')
    shutil.copytree(self.run_dir, copy)
    shutil.rmtree(workdir_layout.WorkdirLayout(copy).best_checkpoints)
    self.assertEqual(run_restoring.find_checkpoint(copy, 'best'),
                     os.path.join(workdir_layout.WorkdirLayout(copy).checkpoints, 'ckpt-2'))
    self.assertEqual(run_restoring.find_checkpoint(self.run_dir, 'latest'),
                     os.path.join(layout.checkpoints, 'ckpt-2'))
    self.assertEqual(evaluation_run.load_run(self.run_dir, checkpoint='latest').step, 2)
    with self.assertRaisesRegex(FileNotFoundError, 'newest'):
      run_restoring.find_checkpoint(self.run_dir, 'newest')


class ExportedCheckpointTest(tf.test.TestCase, parameterized.TestCase):
  """What is evaluated by default is what ships: the exported checkpoint, bit for bit."""

  def setUp(self):
    super().setUp()
    self.addCleanup(gin.clear_config)

  def _check_export_is_evaluated(self, export_checkpoint):
    workdir = self.create_tempdir().full_path
    # Adam 1e-2 on 24 fake images, evaluated every 2 steps on one batch: the held-out ELBO
    # stalls early, so the best checkpoint is not the latest and their weights differ.
    metrics = _smoke_run(workdir, [
        'train.num_steps = 60', 'train.steps_per_epoch = 2', 'train.stop_after_stalled_evals = 2',
        'keras.optimizers.Adam.learning_rate = 1e-2',
        f"train.export_checkpoint = '{export_checkpoint}'"])
    self.assertEqual(metrics['status'], 'early_stopped')
    self.assertLess(metrics['best_step'], metrics['steps'])  # Else best = latest proves nothing.
    expected_step = metrics['best_step' if export_checkpoint == 'best' else 'steps']
    self.assertEqual(metrics['exported_step'], expected_step)

    run = run_restoring.restore_run(workdir)  # 'selected'
    self.assertEqual((run.step, run.exported_step, run.is_exported), (expected_step,) * 2 + (True,))
    self.assertEqual(run.checkpoint, run_restoring.find_checkpoint(workdir, export_checkpoint))
    shipped = _decode_exported(workdir, run.model.latent_dim)
    self.assertAllEqual(_decode_restored(run.model), shipped)
    other = run_restoring.restore_run(workdir, 'latest' if export_checkpoint == 'best' else 'best')
    self.assertNotAllClose(_decode_restored(other.model), shipped)
    self.assertFalse(other.is_exported)

    result = evaluation_run.evaluate(workdir, num_importance_samples=0, max_images=8,
                                     verbose=False)
    with open(workdir_layout.WorkdirLayout(workdir).eval) as f:
      written = json.load(f)
    self.assertEqual(written, json.loads(json.dumps(result)))
    self.assertEqual((written['step'], written['exported_step'], written['evaluated_is_exported']),
                     (expected_step, expected_step, True))

  def test_an_early_stopped_run_exports_and_evaluates_its_best_checkpoint(self):
    self._check_export_is_evaluated('best')

  @pytest.mark.slow
  def test_an_early_stopped_run_exports_and_evaluates_its_latest_checkpoint(self):
    self._check_export_is_evaluated('latest')


if __name__ == '__main__':
  tf.test.main()
