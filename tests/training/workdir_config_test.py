"""Tests of a workdir's recorded configuration and the bad workdirs the root refuses."""

import functools
import json
import os

from absl.testing import parameterized
import gin
import tensorflow as tf

from spreadtf.data import fake
from spreadtf.training import workdir_config
from spreadtf.training import workdir_layout
from tests import testing


class DescribeTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(
      ('int', 3, '3'), ('float', 1e-3, '0.001'), ('none', None, 'None'), ('str', 'a', "'a'"),
      ('tuple', (16,), '(16,)'), ('nested', [1, (2, 3)], '[1, (2, 3)]'),
      ('dict', {'b': 1, 'a': 2}, "{'a': 2, 'b': 1}"),
      ('function', fake.make_fake_dataset, '@spreadtf.data.fake.make_fake_dataset'),
      ('partial', functools.partial(fake.make_fake_dataset, num_examples=16),
       '@spreadtf.data.fake.make_fake_dataset(num_examples=16)'),
      ('object', object(), '<builtins.object>'))
  def test_describes_values_stably(self, value, expected):
    self.assertEqual(workdir_config.describe(value), expected)

  def test_gin_bindings_resolve_selectors_and_references_to_full_names(self):
    gin.clear_config()
    self.addCleanup(gin.clear_config)
    text = '\n'.join(['import spreadtf.data.fake', 'import spreadtf.models.mlp',
                      'import spreadtf.models.spread_vae', 'LATENT = 4',
                      'make_fake_dataset.num_examples = 16',
                      'spread_vae.make_spread_vae.encoder_fn = @mlp.make_encoder',
                      'spread_vae.make_spread_vae.latent_dim = %LATENT',
                      'mlp.make_encoder.hidden_units = (16,\n    32)'])
    self.assertEqual(workdir_config.gin_bindings(text), {
        'LATENT': '4',
        'spreadtf.data.fake.make_fake_dataset.num_examples': '16',
        'spreadtf.models.spread_vae.make_spread_vae.encoder_fn':
            '@spreadtf.models.mlp.make_encoder',
        'spreadtf.models.spread_vae.make_spread_vae.latent_dim': '%LATENT',
        'spreadtf.models.mlp.make_encoder.hidden_units': '(16, 32)'})


class WorkdirTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  def test_refuses_a_workdir_of_another_configuration_and_lists_the_differences(self):
    workdir = self.create_tempdir().full_path
    testing.run(workdir, num_steps=2)
    before = testing.hash_tree(workdir)
    with self.assertRaises(ValueError) as caught:
      testing.run(workdir, num_steps=4, seed=1, global_batch_size=8)
    message = str(caught.exception)
    self.assertIn('holds a run with a different configuration', message)
    self.assertIn('spreadtf.training.training_run.train.seed: 0 -> 1', message)
    self.assertIn('spreadtf.training.training_run.train.global_batch_size: 4 -> 8', message)
    self.assertNotIn('num_steps:', message)  # Extending a run is allowed.
    self.assertIn('Use a new workdir', message)
    self.assertEqual(testing.hash_tree(workdir), before)

  def test_gin_bindings_are_part_of_the_configuration(self):
    workdir = self.create_tempdir().full_path
    gin.parse_config('import spreadtf.data.fake\n'
                     'fake.make_fake_dataset.image_shape = (8, 8, 1)\n'
                     'fake.make_fake_dataset.num_examples = 16\n'
                     'fake.make_fake_dataset.content_seed = 0')
    testing.run(workdir, num_steps=2, data_fn=gin.get_configurable('fake.make_fake_dataset'))
    gin.parse_config('fake.make_fake_dataset.content_seed = 1')
    with self.assertRaisesRegex(ValueError, 'make_fake_dataset.content_seed: 0 -> 1'):
      testing.run(workdir, num_steps=4, data_fn=gin.get_configurable('fake.make_fake_dataset'))

  def test_extending_num_steps_is_allowed_and_recorded(self):
    workdir = self.create_tempdir().full_path
    testing.run(workdir, num_steps=2)
    self.assertEqual(testing.run(workdir, num_steps=4, verbose=True)['steps'], 4)
    with open(workdir_layout.WorkdirLayout(workdir).run_config) as f:
      recorded = json.load(f)['bindings']
    self.assertEqual(recorded['spreadtf.training.training_run.train.num_steps'], '4')

  def test_a_run_recorded_before_a_root_argument_existed_resumes_at_its_default(self):
    workdir = self.create_tempdir().full_path
    testing.run(workdir, num_steps=2)
    path = workdir_layout.WorkdirLayout(workdir).run_config
    with open(path) as f:
      recorded = json.load(f)
    key = 'spreadtf.training.training_run.train.export_checkpoint'
    self.assertEqual(recorded['bindings'].pop(key), "'latest'")  # As an older run's file.
    with open(path, 'w') as f:
      json.dump(recorded, f)
    before = testing.hash_tree(workdir)
    with self.assertRaisesRegex(ValueError, f"{key}: \\(not set\\) -> 'best'"):
      testing.run(workdir, num_steps=4, export_checkpoint='best')
    self.assertEqual(testing.hash_tree(workdir), before)
    self.assertEqual(testing.run(workdir, num_steps=4)['steps'], 4)

  def test_unreadable_recorded_configuration_is_a_clear_error(self):
    workdir = self.create_tempdir().full_path
    with open(workdir_layout.WorkdirLayout(workdir).run_config, 'w') as f:
      f.write('{"bindings": ')
    before = testing.hash_tree(workdir)
    with self.assertRaisesRegex(ValueError, 'run_config.json.*cannot be read.*move it aside'):
      testing.run(workdir, num_steps=2)
    self.assertEqual(testing.hash_tree(workdir), before)

  @parameterized.named_parameters(('is_a_file', ''), ('under_a_file', 'run'))
  def test_unwritable_workdir_is_a_clear_error(self, below):
    blocker = os.path.join(self.create_tempdir().full_path, 'blocker')
    with open(blocker, 'w') as f:
      f.write('a file, not a directory')
    workdir = os.path.join(blocker, below) if below else blocker
    with self.assertRaisesRegex(OSError, "cannot write to the workdir '.*blocker.*choose a "
                                'writable directory'):
      testing.run(workdir, num_steps=2)
    with open(blocker) as f:
      self.assertEqual(f.read(), 'a file, not a directory')

  def test_unwritable_export_path_is_a_clear_error_before_training(self):
    workdir = self.create_tempdir().full_path
    testing.run(workdir, num_steps=2, export=True)
    export = os.path.join(workdir, 'export')
    tf.io.gfile.rmtree(export)
    with open(export, 'w') as f:
      f.write('a file where the export goes')
    before = testing.hash_tree(workdir)
    with self.assertRaisesRegex(OSError, "export path '.*export'.*it is a file.*train.export "
                                '= False'):
      testing.run(workdir, num_steps=4, export=True)
    self.assertEqual(testing.hash_tree(workdir), before)
    self.assertEqual(testing.run(workdir, num_steps=4, export=False)['steps'], 4)


if __name__ == '__main__':
  tf.test.main()
