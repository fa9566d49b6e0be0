"""Tests of the evaluation root: a smoke run scored end to end, errors, reproducibility."""

import json
import os
import re
import shutil
import tempfile

from absl.testing import absltest
import gin
import keras
import numpy as np
import tensorflow as tf

from spreadtf import gin_parsing
from spreadtf.evaluation import evaluation_run
from spreadtf.evaluation import features as features_lib
from spreadtf.training import training_run as training


def _smoke_run(workdir, extra=()):
  gin.clear_config()
  gin.add_config_file_search_path(gin_parsing.GIN_DIR)
  gin.parse_config_files_and_bindings(
      ['mnist/delta_vae_gaussian.gin', 'smoke.gin'],
      ['train.seed = 0', 'fake.make_fake_dataset.num_examples = 24'] + list(extra),
      skip_unknown=False)
  training.train(workdir=workdir, verbose=False)
  gin.clear_config()


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
    for name in ('eval.json', 'eval_samples.png'):
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

  def test_scores_the_restored_weights_not_fresh_ones(self):
    # The run's exported generator holds its final weights: the restored decoder must match it.
    run = evaluation_run.load_run(self.run_dir)
    exported = tf.saved_model.load(os.path.join(self.run_dir, 'export'))
    z = tf.random.stateless_normal([5, run.model.latent_dim], seed=[0, 0])
    self.assertAllClose(run.model.decode(z), exported.decode(z)['images'], atol=1e-6)
    self.assertEqual(run.step, 2)

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

  def test_prefers_the_best_checkpoint_and_falls_back_to_the_latest(self):
    best = evaluation_run.find_checkpoint(self.run_dir)
    self.assertEqual(os.path.dirname(best), os.path.join(self.run_dir, 'checkpoints', 'best'))
    copy = os.path.join(self.root, 'no_best')
    shutil.copytree(self.run_dir, copy)
    shutil.rmtree(os.path.join(copy, 'checkpoints', 'best'))
    self.assertEqual(evaluation_run.find_checkpoint(copy),
                     os.path.join(copy, 'checkpoints', 'ckpt-2'))
    self.assertEqual(evaluation_run.find_checkpoint(self.run_dir, 'latest'),
                     os.path.join(self.run_dir, 'checkpoints', 'ckpt-2'))
    with self.assertRaisesRegex(ValueError, 'best.*latest'):
      evaluation_run.find_checkpoint(self.run_dir, 'newest')


if __name__ == '__main__':
  tf.test.main()
