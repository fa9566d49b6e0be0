"""Tests of atomic file output."""

import json
import os
from unittest import mock

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from spreadtf import files


class FilesTest(tf.test.TestCase, parameterized.TestCase):

  def test_write_json_round_trips_and_leaves_no_temporary_file(self):
    directory = self.create_tempdir().full_path
    path = os.path.join(directory, 'metrics.json')
    files.write_json(path, {'a': 1.5, 'b': None})
    with open(path) as f:
      self.assertEqual(json.load(f), {'a': 1.5, 'b': None})
    self.assertEqual(os.listdir(directory), ['metrics.json'])

  def test_write_json_refuses_nan_and_keeps_the_old_file(self):
    path = os.path.join(self.create_tempdir().full_path, 'metrics.json')
    files.write_json(path, {'a': 1})
    with self.assertRaises(ValueError):
      files.write_json(path, {'a': float('nan')})
    with open(path) as f:
      self.assertEqual(json.load(f), {'a': 1})

  def test_json_ready_makes_nested_numpy_and_non_finite_values_strict_json(self):
    value = {'a': np.float32(0.5), 'b': [np.int64(3), float('nan')],
             'c': {'d': (float('inf'), -np.inf, 1.5)}, 'e': 'text', 'f': None}
    ready = files.json_ready(value)
    self.assertEqual(ready, {'a': 0.5, 'b': [3, None], 'c': {'d': [None, None, 1.5]},
                             'e': 'text', 'f': None})
    self.assertIs(type(ready['a']), float)
    self.assertIs(type(ready['b'][0]), int)
    path = os.path.join(self.create_tempdir().full_path, 'm.json')
    files.write_json(path, ready)  # Strict JSON: it would raise on NaN.
    with open(path) as f:
      self.assertEqual(json.load(f), ready)

  def test_a_failed_write_keeps_the_old_file_whole(self):
    directory = self.create_tempdir().full_path
    path = os.path.join(directory, 'config.gin')
    files.write_text(path, 'old = 1\n')
    real_rename = tf.io.gfile.rename

    def killed_before_rename(*args, **kwargs):
      del args, kwargs
      raise tf.errors.AbortedError(None, None, 'killed')

    with (mock.patch.object(tf.io.gfile, 'rename', killed_before_rename),
          self.assertRaisesRegex(OSError, 'config.gin')):
      files.write_text(path, 'new = 2\n' * 1000)
    self.assertIs(tf.io.gfile.rename, real_rename)
    with open(path) as f:
      self.assertEqual(f.read(), 'old = 1\n')
    self.assertEqual(os.listdir(directory), ['config.gin'])

  @parameterized.named_parameters(('file_in_the_way', 'blocker/out.json'),
                                  ('missing_directory', 'missing/out.json'))
  def test_unwritable_path_is_an_oserror_naming_it(self, relative):
    directory = self.create_tempdir().full_path
    with open(os.path.join(directory, 'blocker'), 'w') as f:
      f.write('x')
    with self.assertRaisesRegex(OSError, 'out.json'):
      files.write_json(os.path.join(directory, relative), {})

  def test_stale_temporaries_are_other_processes_leftovers_beside_the_path(self):
    directory = self.create_tempdir().full_path
    target = os.path.join(directory, 'metrics.json')
    mine = files.temporary_name(target)
    others = [os.path.join(directory, '.metrics.json.tmp-1-0a1b2c3d'),
              os.path.join(directory, '.metrics.json.tmp-99999999-ffffffff')]
    for path in [mine, os.path.join(directory, '.eval.json.tmp-1-0a1b2c3d')] + others:
      open(path, 'w').close()
    self.assertEqual(files.stale_temporaries(target), sorted(others))
    self.assertEqual(files.stale_temporaries(os.path.join(directory, 'missing', 'x')), [])

  def test_write_bytes_writes_binary(self):
    path = os.path.join(self.create_tempdir().full_path, 'x.png')
    files.write_bytes(path, b'\x89PNG\x00\xff')
    with open(path, 'rb') as f:
      self.assertEqual(f.read(), b'\x89PNG\x00\xff')


if __name__ == '__main__':
  tf.test.main()
