"""Tests of checkpoint I/O: which checkpoint a run resumes from (the newest readable), debris and
unreadable checkpoints, finding a run's latest and best checkpoints, restoring another run's
networks."""

import os
import resource

from absl.testing import parameterized
import gin
import tensorflow as tf

from spreadtf import _compat
from spreadtf.training import checkpoints
from spreadtf.training import model_building
from spreadtf.training import progress as progress_lib
from spreadtf.training import spread_learning
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


def _flip_bytes(path):
  with open(path, 'rb') as f:
    content = bytearray(f.read())
  content[len(content) // 2] ^= 0xFF  # Inside a tensor: its checksum no longer matches.
  with open(path, 'wb') as f:
    f.write(bytes(content))


def _files(directory, prefix):
  """`{file name: bytes}` of a checkpoint's files."""
  found = {}
  for name in os.listdir(directory):
    if name.startswith(prefix + '.'):
      with open(os.path.join(directory, name), 'rb') as f:
        found[name] = f.read()
  return found


def _state(directory):
  return tf.train.get_checkpoint_state(directory)


class VerifyTest(tf.test.TestCase):

  def test_detects_a_flipped_byte_anywhere_and_truncated_files(self):
    directory = self.create_tempdir().full_path
    iterator = iter(tf.data.Dataset.range(64).map(lambda i: tf.fill([16], i))
                    .shuffle(32, seed=0).repeat())
    next(iterator)
    prefix = tf.train.Checkpoint(weights=tf.Variable(tf.range(5000.)), data=iterator,
                                 note=tf.Variable('text')).write(os.path.join(directory, 'c'))
    self.assertIsNone(checkpoints.verify(prefix))
    data = prefix + '.data-00000-of-00001'
    with open(data, 'rb') as f:
      content = f.read()
    # 64 bytes spread over the file (weights, the iterator's buffer, the string): each one
    # flipped alone is detected (TensorFlow checks every tensor's CRC32C).
    for offset in range(0, len(content), len(content) // 64):
      flipped = bytearray(content)
      flipped[offset] ^= 0xFF
      _overwrite(data, bytes(flipped))
      self.assertIsNotNone(checkpoints.verify(prefix), offset)
    _overwrite(data, content[:-1])
    self.assertRegex(checkpoints.verify(prefix), 'Read less bytes')
    _overwrite(data, content)
    _truncate(prefix + '.index')
    self.assertRegex(checkpoints.verify(prefix), 'sstable')
    self.assertRegex(checkpoints.verify(os.path.join(directory, 'missing')), 'NotFound')


class ResumeTest(tf.test.TestCase, parameterized.TestCase):
  """Which checkpoint a run resumes from, and what it does with the rest of the directory."""

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  @parameterized.named_parameters(
      ('garbled_index', 'ckpt-2.index', lambda p: _overwrite(p, b'not a checkpoint')),
      ('truncated_data', 'ckpt-2.data-00000-of-00001', _truncate),
      ('flipped_data', 'ckpt-2.data-00000-of-00001', _flip_bytes))
  def test_no_readable_checkpoint_is_a_clear_error_and_the_workdir_is_unchanged(self, name,
                                                                               damage):
    workdir = self.create_tempdir().full_path
    testing.run(workdir, num_steps=2)
    damage(os.path.join(workdir, 'checkpoints', name))
    before = testing.hash_tree(workdir)
    with self.assertRaisesRegex(RuntimeError, r"no checkpoint in '.*checkpoints' can be read: "
                                r"'.*ckpt-2' \(.*\)\. Nothing was changed or deleted"):
      testing.run(workdir, num_steps=4)
    self.assertEqual(testing.hash_tree(workdir), before)

  @parameterized.named_parameters(
      ('flipped_data', 'ckpt-4.data-00000-of-00001', _flip_bytes),
      ('truncated_index', 'ckpt-4.index', _truncate))
  def test_an_unreadable_latest_checkpoint_falls_back_to_the_newest_readable_and_is_kept(
      self, name, damage):
    workdir, whole = self.create_tempdir().full_path, self.create_tempdir().full_path
    directory = os.path.join(workdir, 'checkpoints')
    testing.run(workdir, num_steps=4)
    damage(os.path.join(directory, name))
    bad = _files(directory, 'ckpt-4')
    with self.assertLogs('absl', level='INFO') as logs:
      metrics = testing.run(workdir, num_steps=6)
    log = '\n'.join(logs.output)
    self.assertRegex(log, r"cannot read '.*ckpt-4' \(")
    self.assertIn('resumed from step 2', log)
    self.assertEqual((metrics['start_step'], metrics['steps']), (2, 6))
    (moved,) = tf.io.gfile.glob(os.path.join(directory, checkpoints.UNREADABLE, '*'))
    self.assertEqual(_files(moved, 'ckpt-4'), bad)  # Kept, byte for byte.
    self.assertEqual(_state(directory).model_checkpoint_path, os.path.join(directory, 'ckpt-6'))
    # Resumed from ckpt-2 with its input position: the weights of an uninterrupted run.
    testing.run(whole, num_steps=6)
    self.assertEqual(testing.max_difference(
        testing.state_variables(os.path.join(whole, 'checkpoints', 'ckpt-6')),
        testing.state_variables(os.path.join(directory, 'ckpt-6'))), 0.)

  def test_an_unreadable_state_file_resumes_from_the_newest_checkpoint_and_is_rewritten(self):
    workdir = self.create_tempdir().full_path
    directory = os.path.join(workdir, 'checkpoints')
    testing.run(workdir, num_steps=4)
    _overwrite(os.path.join(directory, 'checkpoint'), b'garbage {{')
    self.assertIsNone(_state(directory))
    self.assertEqual(testing.run(workdir, num_steps=6)['start_step'], 4)
    state = _state(directory)
    self.assertEqual(state.model_checkpoint_path, os.path.join(directory, 'ckpt-6'))
    self.assertEqual(list(state.all_model_checkpoint_paths),
                     [os.path.join(directory, f'ckpt-{s}') for s in (2, 4, 6)])

  def test_a_whole_checkpoint_the_state_file_does_not_name_yet_is_resumed_from(self):
    # What a kill between a save's last file and its state-file update leaves.
    workdir = self.create_tempdir().full_path
    directory = os.path.join(workdir, 'checkpoints')
    testing.run(workdir, num_steps=4)
    _compat.write_checkpoint_state(directory, os.path.join(directory, 'ckpt-2'),
                                   [os.path.join(directory, 'ckpt-2')])
    self.assertEqual(testing.run(workdir, num_steps=6)['start_step'], 4)

  def test_debris_of_interrupted_saves_is_removed_at_the_next_start_and_nothing_else(self):
    workdir = self.create_tempdir().full_path
    directory = os.path.join(workdir, 'checkpoints')
    testing.run(workdir, num_steps=2)
    kept = testing.hash_tree(directory)
    debris = [os.path.join(directory, 'ckpt-4_temp', 'part-00000-of-00001.data-00000-of-00001'),
              os.path.join(directory, 'ckpt-4_temp_1a2b', 'part-00000-of-00001.index'),
              os.path.join(directory, 'checkpoint.tmp0123456789abcdef'),
              os.path.join(directory, 'ckpt-4.data-00000-of-00001'),  # Its index is gone.
              os.path.join(directory, checkpoints.BEST, 'ckpt-4_temp', 'part-00000-of-00001.index'),
              os.path.join(directory, checkpoints.BEST, 'checkpoint.tmpabcdef')]
    for path in debris:
      os.makedirs(os.path.dirname(path), exist_ok=True)
      open(path, 'wb').close()
    self.assertCountEqual(checkpoints.find_debris(directory), [
        os.path.join(directory, n) for n in ('ckpt-4_temp', 'ckpt-4_temp_1a2b',
                                             'checkpoint.tmp0123456789abcdef',
                                             'ckpt-4.data-00000-of-00001')])
    with self.assertLogs('absl', level='INFO') as logs:
      self.assertEqual(testing.run(workdir, num_steps=2)['steps'], 2)  # Finished: no new save.
    self.assertIn('removed what interrupted checkpoint saves left', '\n'.join(logs.output))
    for path in debris:
      self.assertFalse(os.path.exists(path), path)
    self.assertEqual(testing.hash_tree(directory), kept)

def _learned_spread_model():
  """A built, compiled tiny low-rank SpreadVAE with its spread optimizer."""
  return model_building.build_model(
      testing.low_rank_model, 0, optimizer_fn=testing.make_adam,
      spread_optimizer_fn=testing.make_spread_adam,
      spread_schedule=spread_learning.SpreadSchedule(start_step=0, period=1, num_steps=2))


class SpreadGuardCheckpointTest(tf.test.TestCase):
  """The spread guard and streak are saved beside the model and read leniently."""

  def test_a_checkpoint_written_before_the_spread_guard_restores_with_counts_at_zero(self):
    directory = self.create_tempdir().full_path
    old = _learned_spread_model()
    old.spread.L_raw.assign(old.spread.L_raw * 2.)
    old.spread_optimizer.iterations.assign(7)
    # What RunCheckpoints saved before spread steps were guarded: no spread_guard, no streak.
    manager = tf.train.CheckpointManager(
        checkpoints.make_checkpoint(old, old.optimizer, progress=progress_lib.RunProgress()),
        directory, max_to_keep=1)
    prefix = manager.save(checkpoint_number=3)
    self.assertFalse([n for n, _ in tf.train.list_variables(prefix) if 'spread_guard' in n])
    new, streak = _learned_spread_model(), tf.Variable(0, dtype=tf.int64)
    # Negative control: a strict restore of the guard from it fails.
    with self.assertRaises(AssertionError):
      tf.train.Checkpoint(spread_guard=new.spread_guard).restore(
          prefix).assert_existing_objects_matched()
    run_checkpoints = checkpoints.RunCheckpoints(
        new, progress_lib.RunProgress(), directory, checkpoints.survey(directory), 3,
        skip_streak=tf.Variable(0, dtype=tf.int64), spread_skip_streak=streak)
    self.assertEqual(run_checkpoints.restore(with_input=False), prefix)
    self.assertAllEqual(new.spread.L_raw, old.spread.L_raw)
    self.assertEqual(int(new.spread_optimizer.iterations), 7)
    self.assertEqual((new.spread_guard.read(), int(streak.numpy())), ((0, -1, None), 0))

  def test_the_spread_guard_and_streak_are_saved_and_restored(self):
    directory = self.create_tempdir().full_path
    model = _learned_spread_model()
    model.spread_guard.count.assign(3)
    model.spread_guard.last_step.assign(11)
    model.spread_guard.last_metric.assign(2)
    streak = tf.Variable(2, dtype=tf.int64)
    saving = checkpoints.RunCheckpoints(
        model, progress_lib.RunProgress(), directory, checkpoints.survey(directory), 3,
        spread_skip_streak=streak)
    saving.tidy()
    saving.save(4)
    restored, restored_streak = _learned_spread_model(), tf.Variable(0, dtype=tf.int64)
    checkpoints.RunCheckpoints(
        restored, progress_lib.RunProgress(), directory, checkpoints.survey(directory), 3,
        spread_skip_streak=restored_streak).restore(with_input=False)
    self.assertEqual(restored.spread_guard.read(), (3, 11, 'gradient'))
    self.assertEqual(int(restored_streak.numpy()), 2)


class SaveTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  def test_a_save_that_cannot_be_written_fails_clearly_and_leaves_the_previous_one(self):
    workdir = self.create_tempdir().full_path
    directory = os.path.join(workdir, 'checkpoints')
    testing.run(workdir, num_steps=2)
    before, metrics = testing.hash_tree(directory), testing.hash_tree(workdir)['metrics.json']
    # A per-file size limit (what `ulimit -f` sets; Python ignores SIGXFSZ, so a write past it
    # fails with EFBIG): below the checkpoints' data files, above the run's other files.
    limit = 8192
    sizes = {os.path.basename(p): os.path.getsize(p) for p in tf.io.gfile.glob(
        os.path.join(directory, '*', '*.data-*')) + tf.io.gfile.glob(
            os.path.join(directory, '*.data-*'))}
    self.assertGreater(min(sizes.values()), limit, sizes)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
      with self.assertRaisesRegex(checkpoints.CheckpointWriteError,
                                  r"cannot write checkpoint '.*ckpt-4': .*File too large.*The "
                                  r"run's latest checkpoint \('.*ckpt-2'\)"):
        testing.run(workdir, num_steps=4)
    finally:
      resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    self.assertEqual(testing.hash_tree(directory), before)  # No debris either.
    self.assertEqual(testing.hash_tree(workdir)['metrics.json'], metrics)
    self.assertEqual(testing.run(workdir, num_steps=4)['start_step'], 2)  # Space again: resumes.


class RestoreLatestTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

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
