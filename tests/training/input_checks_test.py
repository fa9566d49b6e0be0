"""Tests of the data checks before a run's first write: unchanged data, readable first batches.

The run-level tests train on a folder of 8x8 grayscale PNGs, as a user's folder run would.
"""

import functools
import os

from absl.testing import parameterized
import gin
import numpy as np
import tensorflow as tf

from spreadtf.data import folder
from spreadtf.data import pipeline
from spreadtf.training import checkpoints
from spreadtf.training import input_checks
from tests import testing


def write_images(directory, num, start=0):
  """`num` random 8x8 grayscale PNGs `000000.png`, ... in `directory`."""
  for i in range(start, start + num):
    pixels = np.random.RandomState(i).randint(0, 256, size=(8, 8, 1), dtype=np.uint8)
    tf.io.write_file(os.path.join(directory, f'{i:06d}.png'), tf.io.encode_png(pixels))


def write_truncated_image(directory, num_images):
  """A PNG cut after half its bytes (an interrupted copy), named to fall in the training split.

  Args:
    directory: a folder of `write_images`' `num_images` files `000000.png`, ...

  Returns:
    Its file name: `<k - 1>x.png` sorts right after `<k - 1>.png`, at position k of the
    `num_images + 1` sorted files, where k is a training position of `folder_data`'s split.
  """
  train = pipeline.split_items(list(range(num_images + 1)), 'train', 2, 2, 123)
  position = next(k for k in train if k > 0)
  name = f'{position - 1:06d}x.png'
  data = tf.io.encode_png(np.zeros((8, 8, 1), np.uint8)).numpy()
  with open(os.path.join(directory, name), 'wb') as f:
    f.write(data[:len(data) // 2])
  return name


def folder_data(path):
  """The data function of a folder run: 2 test and 2 validation images, the rest training."""
  return functools.partial(folder.make_folder_dataset, path=path, crop_size=None,
                           image_size=None, channels=1, num_test=2, num_validation=2)


class CompareFingerprintsTest(tf.test.TestCase):

  def test_a_change_is_refused_naming_split_source_values_and_the_two_ways_on(self):
    then = {'train': {'source': "image folder '/d'", 'files': 16},
            'validation': {'source': "image folder '/d'", 'files': 2}}
    now = {'train': {'source': "image folder '/d'", 'files': 18},
           'validation': {'source': "image folder '/d'", 'files': 2}}
    with self.assertRaises(input_checks.DataChangedError) as caught:
      input_checks.compare_fingerprints(then, now, '/w/checkpoints/ckpt-2', 'refuse')
    message = str(caught.exception)
    self.assertIn("the data changed since checkpoint '/w/checkpoints/ckpt-2'", message)
    self.assertIn("the 'train' split (image folder '/d'): files: 16 then, 18 now", message)
    self.assertNotIn("'validation' split", message)
    self.assertIn('restore the data', message)
    self.assertIn("train.on_data_change = 'reshuffle'", message)

  def test_reshuffle_accepts_the_change_and_logs_it(self):
    with self.assertLogs('absl', level='WARNING') as logs:
      self.assertTrue(input_checks.compare_fingerprints(
          {'train': {'files': 1}}, {'train': {'files': 2}}, 'ckpt-2', 'reshuffle'))
    self.assertIn('fresh input pipeline', '\n'.join(logs.output))

  def test_unchanged_data_or_a_checkpoint_without_fingerprint_passes(self):
    now = {'train': {'files': 2}}
    self.assertFalse(input_checks.compare_fingerprints(now, dict(now), 'ckpt-2', 'refuse'))
    self.assertFalse(input_checks.compare_fingerprints(None, now, 'ckpt-2', 'refuse'))


class CheckReadableTest(tf.test.TestCase):

  def test_a_bad_file_is_named_from_the_pipelines_assertion(self):
    directory = self.create_tempdir().full_path
    write_images(directory, 8)
    name = write_truncated_image(directory, 8)
    self.assertIn(os.path.join(directory, name), folder.list_images(directory))
    dataset = folder_data(directory)('train', 2, seed=0)
    with self.assertRaisesRegex(input_checks.DataUnreadableError,
                                r"^the 'train' data cannot be read \(its first batch\): image "
                                rf'folder: .*{name} is truncated .* Nothing was changed'):
      input_checks.check_readable(iter(dataset), 'train', 1, 'its first batch')

  def test_a_split_smaller_than_one_batch_is_named(self):
    dataset = tf.data.Dataset.range(3).batch(4, drop_remainder=True).repeat()
    with self.assertRaisesRegex(input_checks.DataUnreadableError, 'gives no batch.*fewer images '
                                'than one global batch'):
      input_checks.check_readable(iter(dataset), 'validation', 1)


class DataChangeTest(tf.test.TestCase, parameterized.TestCase):
  """A folder run re-run after its folder changed."""

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)
    self.images = self.create_tempdir().full_path
    write_images(self.images, 20)
    self.data_fn = folder_data(self.images)

  def test_added_images_are_refused_naming_the_change_and_reshuffle_resumes_and_finishes(self):
    workdir = self.create_tempdir().full_path
    testing.run(workdir, num_steps=2, data_fn=self.data_fn)
    write_images(self.images, 2, start=20)  # Two valid images more.
    before = testing.hash_tree(workdir)
    with self.assertRaises(input_checks.DataChangedError) as caught:
      testing.run(workdir, num_steps=4, data_fn=self.data_fn)
    message = str(caught.exception)
    for part in ("the 'train' split (image folder", 'folder_files: 20 then, 22 now',
                 'files: 16 then, 18 now', "train.on_data_change = 'reshuffle'"):
      self.assertIn(part, message)
    self.assertEqual(testing.hash_tree(workdir), before)  # Nothing written.

    with self.assertLogs('absl', level='INFO') as logs:
      metrics = testing.run(workdir, num_steps=4, data_fn=self.data_fn,
                            on_data_change='reshuffle')
    log = '\n'.join(logs.output)
    self.assertIn('resumed from step 2', log)
    self.assertIn('fresh input pipeline', log)
    self.assertEqual((metrics['status'], metrics['start_step'], metrics['steps']),
                     ('completed', 2, 4))
    saved = checkpoints.read_data_fingerprint(os.path.join(workdir, 'checkpoints', 'ckpt-4'))
    self.assertEqual(saved['train']['folder_files'], 22)  # The new data is the run's now.
    self.assertEqual(testing.run(workdir, num_steps=6, data_fn=self.data_fn)['steps'], 6)

  def test_a_truncated_image_stops_a_new_run_before_anything_is_written(self):
    workdir = self.create_tempdir().full_path
    name = write_truncated_image(self.images, 20)
    with self.assertRaisesRegex(input_checks.DataUnreadableError, f'{name} is truncated'):
      testing.run(workdir, num_steps=2, data_fn=self.data_fn)
    self.assertEqual(testing.hash_tree(workdir), {})


if __name__ == '__main__':
  tf.test.main()
