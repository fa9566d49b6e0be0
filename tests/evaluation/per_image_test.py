"""Tests of the per-image evaluation file next to eval.json."""

import os

import numpy as np
import tensorflow as tf

from spreadtf.evaluation import per_image


class PerImageTest(tf.test.TestCase):

  def test_round_trip_keeps_every_value_and_length(self):
    workdir = self.create_tempdir().full_path
    elbo = np.random.default_rng(0).normal(-250., 30., 1000).astype(np.float32)
    iw = np.arange(16.)
    path = per_image.write(workdir, test_elbo=elbo, iw_log_likelihood=iw)
    self.assertEqual(path, os.path.join(workdir, 'eval_per_image.npz'))
    values = per_image.read(workdir)
    self.assertEqual(sorted(values), ['iw_log_likelihood', 'test_elbo'])
    self.assertAllEqual(values['test_elbo'], elbo.astype(np.float64))
    self.assertAllEqual(values['iw_log_likelihood'], iw)
    self.assertEqual(values['test_elbo'].dtype, np.float64)

  def test_a_run_without_the_file_has_none(self):
    self.assertEqual(per_image.read(self.create_tempdir().full_path), {})

  def test_refuses_what_is_not_one_value_per_image_and_writes_nothing(self):
    workdir = self.create_tempdir().full_path
    for bad in (np.zeros((3, 2)), np.zeros(0), np.array(['a', 'b']), 3.):
      with self.assertRaisesRegex(ValueError, '1-d array of real numbers'):
        per_image.write(workdir, test_elbo=bad)
    with self.assertRaisesRegex(ValueError, 'at least one metric'):
      per_image.write(workdir)
    self.assertEqual(os.listdir(workdir), [])

  def test_an_unreadable_file_is_named(self):
    workdir = self.create_tempdir().full_path
    with open(per_image.path(workdir), 'wb') as f:
      f.write(b'not an npz')
    with self.assertRaisesRegex(ValueError, 'eval_per_image.npz.*not a readable'):
      per_image.read(workdir)


if __name__ == '__main__':
  tf.test.main()
