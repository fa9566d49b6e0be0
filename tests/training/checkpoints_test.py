"""Tests of checkpoint I/O: corrupt checkpoints are clear errors that change nothing, finding a
run's latest and best checkpoints, and restoring the networks of another run."""

import os

from absl.testing import parameterized
import gin
import tensorflow as tf

from spreadtf.training import checkpoints
from spreadtf.training import workdir_layout
from tests import testing


def _truncate(path):
  with open(path, 'rb') as f:
    content = f.read()
  with open(path, 'wb') as f:
    f.write(content[:len(content) // 2])


def _overwrite(path, content):
  with open(path, 'wb') as f:
    f.write(content)


class RestoreLatestTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  @parameterized.named_parameters(
      ('corrupt_index', 'ckpt-2.index', lambda p: _overwrite(p, b'not a checkpoint'),
       RuntimeError, 'cannot restore checkpoint .*ckpt-2.*Nothing was deleted'),
      ('truncated_data', 'ckpt-2.data-00000-of-00001', _truncate,
       RuntimeError, 'cannot restore checkpoint .*ckpt-2.*Nothing was deleted'),
      ('unreadable_state', 'checkpoint', lambda p: _overwrite(p, b'garbage {{'),
       RuntimeError, 'checkpoints/checkpoint.*missing or unreadable.*Nothing was deleted'))
  def test_bad_checkpoint_is_a_clear_error_and_the_workdir_is_unchanged(
      self, name, damage, error, message):
    workdir = self.create_tempdir().full_path
    testing.run(workdir, num_steps=2)
    damage(os.path.join(workdir, 'checkpoints', name))
    before = testing.hash_tree(workdir)
    with self.assertRaisesRegex(error, message):
      testing.run(workdir, num_steps=4)
    self.assertEqual(testing.hash_tree(workdir), before)

  def test_checkpoint_holds_progress_and_input_position(self):
    workdir = self.create_tempdir().full_path
    testing.run(workdir, num_steps=2)
    saved = {name.split('/')[0] for name, _ in tf.train.list_variables(
        os.path.join(workdir, 'checkpoints', 'ckpt-2'))}
    self.assertContainsSubset({'model', 'optimizer', 'step', 'progress', 'data'}, saved)
    best = {name.split('/')[0] for name, _ in tf.train.list_variables(tf.train.latest_checkpoint(
        os.path.join(workdir, 'checkpoints', checkpoints.BEST)))}
    self.assertContainsSubset({'model', 'optimizer', 'step', 'progress'}, best)
    self.assertNotIn('data', best)


class InputCheckpointTest(tf.test.TestCase, parameterized.TestCase):

  def test_in_memory_pipeline_can_be_saved(self):
    dataset = tf.data.Dataset.range(10).shuffle(10, seed=0).repeat().batch(2)
    self.assertIsNone(checkpoints.input_checkpoint_problem(dataset))

  def test_pipeline_with_python_state_is_named(self):
    dataset = tf.data.Dataset.from_generator(lambda: iter(range(3)), output_signature=
                                             tf.TensorSpec([], tf.int64))
    self.assertRegex(checkpoints.input_checkpoint_problem(dataset), 'stateful|PyFunc')

  def test_run_on_such_a_pipeline_trains_and_says_resume_is_not_exact(self):
    workdir = self.create_tempdir().full_path

    def data_fn(split, global_batch_size, seed):
      images = testing.fake.make_images(16, testing.IMAGE_SHAPE, split=split)
      dataset = tf.data.Dataset.from_generator(lambda: iter(images), output_signature=
                                               tf.TensorSpec(testing.IMAGE_SHAPE, tf.float32))
      return dataset.shuffle(16, seed=seed).repeat().batch(global_batch_size,
                                                            drop_remainder=True)

    with self.assertLogs('absl', level='WARNING') as logs:
      metrics = testing.run(workdir, num_steps=2, data_fn=data_fn)
    self.assertIn('cannot be saved in a checkpoint', '\n'.join(logs.output))
    self.assertEqual((metrics['status'], metrics['input_in_checkpoint']), ('completed', False))
    self.assertEqual(testing.run(workdir, num_steps=4, data_fn=data_fn)['steps'], 4)


class RestoreNetworksTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  def test_reads_the_networks_from_a_prefix_or_a_directory_of_checkpoints(self):
    source = self.create_tempdir().full_path
    testing.run(source, num_steps=2)
    trained, _, _ = testing.restore_fresh(source)
    model = testing.low_rank_model()
    model(tf.zeros((1,) + testing.IMAGE_SHAPE))
    self.assertNotAllClose(model.decoder.get_weights()[0], trained.decoder.get_weights()[0])
    layout = workdir_layout.WorkdirLayout(source)
    # A workdir is looked up through its checkpoint directory, as the root does for
    # train.init_checkpoint (training_run_test covers that path).
    for path, directories in ((source, [source, layout.checkpoints]),
                              (layout.checkpoints, [layout.checkpoints]),
                              (os.path.join(layout.checkpoints, 'ckpt-2'), []),
                              (layout.best_checkpoints, [layout.best_checkpoints])):
      prefix = checkpoints.checkpoint_prefix(path, directories, 'init_checkpoint')
      self.assertRegex(checkpoints.restore_networks(model, prefix), r'ckpt-\d$')
      for mine, theirs in zip(model.encoder.weights + model.decoder.weights,
                              trained.encoder.weights + trained.decoder.weights, strict=True):
        if path != layout.best_checkpoints:
          self.assertAllEqual(mine, theirs)

  def test_errors_name_the_path(self):
    model = testing.make_tiny_model(latent_dim=3)
    model(tf.zeros((1,) + testing.IMAGE_SHAPE))
    missing = os.path.join(self.create_tempdir().full_path, 'nothing')
    with self.assertRaisesRegex(FileNotFoundError, 'init_checkpoint .*nothing'):
      checkpoints.checkpoint_prefix(missing, [missing], 'init_checkpoint')
    empty = self.create_tempdir().full_path
    with self.assertRaisesRegex(FileNotFoundError, 'without checkpoints'):
      checkpoints.checkpoint_prefix(empty, [empty], 'init_checkpoint')
    source = self.create_tempdir().full_path
    testing.run(source, num_steps=2)  # latent_dim 2: the networks do not match.
    with self.assertRaisesRegex(RuntimeError, 'ckpt-2'):
      checkpoints.restore_networks(
          model, checkpoints.find_checkpoint(workdir_layout.WorkdirLayout(source).checkpoints,
                                             'latest'))


class FindCheckpointTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  def test_finds_the_latest_and_the_best_and_reads_their_step(self):
    workdir = self.create_tempdir().full_path
    testing.run(workdir, num_steps=4)
    layout = workdir_layout.WorkdirLayout(workdir)
    latest = checkpoints.find_checkpoint(layout.checkpoints, 'latest')
    self.assertEqual(latest, os.path.join(layout.checkpoints, 'ckpt-4'))
    self.assertEqual(checkpoints.checkpoint_step(latest), 4)
    best = checkpoints.find_checkpoint(layout.checkpoints, 'best')
    self.assertEqual(os.path.dirname(best), layout.best_checkpoints)
    self.assertIn(checkpoints.checkpoint_step(best), (2, 4))
    self.assertIsNone(checkpoints.find_checkpoint(self.create_tempdir().full_path, 'best'))
    with self.assertRaisesRegex(ValueError, 'best.*latest'):
      checkpoints.find_checkpoint(layout.checkpoints, 'newest')


if __name__ == '__main__':
  tf.test.main()
