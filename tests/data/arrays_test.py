"""Tests of the `.npz` and sklearn digits loaders."""

import os

from absl.testing import parameterized
import gin
import numpy as np
import tensorflow as tf

from spreadtf.data import arrays
from spreadtf.data import fingerprints


class ArraysTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  def _npz(self, images, key='images'):
    path = os.path.join(self.create_tempdir().full_path, 'data.npz')
    np.savez(path, **{key: images})
    return path

  @parameterized.named_parameters(
      ('uint8_nhw', np.full([10, 6, 6], 255, np.uint8), (6, 6, 1), 1.),
      ('float_nhwc', np.full([10, 6, 6, 3], 0.5, np.float32), (6, 6, 3), 0.5))
  def test_npz_batches(self, images, shape, value):
    path = self._npz(images)
    batch = next(iter(arrays.make_npz_dataset('train', 4, seed=0, path=path, num_test=2,
                                              num_validation=2)))
    self.assertEqual(batch.shape, (4,) + shape)
    self.assertAllClose(batch, np.full((4,) + shape, value))

  def test_npz_missing_file_names_path(self):
    path = os.path.join(self.create_tempdir().full_path, 'missing.npz')
    with self.assertRaisesRegex(FileNotFoundError, 'missing.npz'):
      arrays.make_npz_dataset('train', 4, seed=0, path=path)

  def test_npz_wrong_key_names_the_arrays_it_has_and_the_binding(self):
    path = self._npz(np.zeros([4, 2, 2]), key='x')
    with self.assertRaisesRegex(KeyError, r"no array 'images' \(it has \['x'\]\).*"
                                r'arrays.make_npz_dataset.key'):
      arrays.load_npz_images(path)

  @parameterized.named_parameters(
      ('float_above_one', np.full([4, 2, 2], 3., np.float32), r'\[0, 1\].*divide 0..255'),
      ('float_below_zero', np.full([4, 2, 2], -0.5), r'\[0, 1\], got range \[-0.5'),
      ('int_above_255', np.full([4, 2, 2], 256, np.int32), r'0..255, got range \[256, 256\]'),
      ('nan_pixels', np.where(np.arange(16).reshape([4, 2, 2]) == 5, np.nan, 0.5),
       r'1 pixel value\(s\) are NaN or inf \(the first in image 1, at \(0, 1, 0\)\)'),
      ('inf_pixels', np.full([4, 2, 2], np.inf), r'16 pixel value\(s\) are NaN or inf'),
      ('channels_first', np.zeros([4, 3, 8, 8], np.uint8),
       r'shape \(4, 3, 8, 8\) \(channels first'),
      ('rank_five', np.zeros([4, 2, 2, 1, 1], np.uint8), r'\[N, H, W, C\] with C = 1 or 3'),
      ('four_channels', np.zeros([4, 2, 2, 4], np.uint8), r'C = 1 or 3, got shape \(4, 2, 2, 4\)'),
      ('empty', np.zeros([0, 2, 2], np.uint8), 'empty'),
      ('strings', np.full([4, 2, 2], 'a'), 'dtype <U1'))
  def test_npz_bad_images_are_named_with_the_file(self, images, message):
    path = self._npz(images)
    with self.assertRaisesRegex(ValueError, message) as raised:
      arrays.make_npz_dataset('train', 2, seed=0, path=path, num_test=1, num_validation=1)
    self.assertIn(path, str(raised.exception))

  def test_npy_file_instead_of_npz_is_named(self):
    path = os.path.join(self.create_tempdir().full_path, 'images.npy')
    np.save(path, np.zeros([4, 2, 2], np.uint8))
    with self.assertRaisesRegex(ValueError, 'not an .npz file.*np.savez'):
      arrays.load_npz_images(path)

  def _read(self, factory, split, **config):
    """The whole split once, one image per batch, as a NumPy array."""
    return np.concatenate(list(factory(split, 1, seed=0, repeat=False, **config)))

  def test_npz_gives_three_disjoint_splits_of_the_set_sizes(self):
    # Image i is filled with the value i, so each image says which one it is.
    path = self._npz(np.arange(20, dtype=np.uint8)[:, None, None] * np.ones([20, 2, 2], np.uint8))
    ids = {split: self._read(arrays.make_npz_dataset, split, path=path, num_test=4,
                             num_validation=3)[:, 0, 0, 0] * 255.
           for split in ('train', 'validation', 'test')}
    self.assertEqual({s: len(v) for s, v in ids.items()}, {'train': 13, 'validation': 3, 'test': 4})
    self.assertAllClose(np.sort(np.concatenate(list(ids.values()))), np.arange(20))
    # The held-out splits are in the file's order; test does not depend on num_validation.
    self.assertAllClose(ids['validation'], np.sort(ids['validation']))
    self.assertAllClose(ids['test'], self._read(arrays.make_npz_dataset, 'test', path=path,
                                                num_test=4, num_validation=9)[:, 0, 0, 0] * 255.)

  def test_npz_default_counts_that_do_not_fit_name_the_bindings(self):
    path = self._npz(np.zeros([1500, 2, 2], np.uint8))   # 1,000 test + 1,000 validation > 1,500
    with self.assertRaisesRegex(ValueError, 'num_test=1000 and num_validation=1000 .* of the '
                                '1500; set arrays.make_npz_dataset.num_test and '
                                'arrays.make_npz_dataset.num_validation'):
      arrays.make_npz_dataset('train', 4, seed=0, path=path)

  def test_bad_split_is_refused_before_the_file_is_read(self):
    path = os.path.join(self.create_tempdir().full_path, 'missing.npz')
    with self.assertRaisesRegex(ValueError, "one of \\('train', 'validation', 'test'\\)"):
      arrays.make_npz_dataset('dev', 4, seed=0, path=path)

  def test_npz_fingerprint_is_the_files_hash_and_sees_any_changed_image(self):
    path = os.path.join(self.create_tempdir().full_path, 'images.npz')
    images = np.random.RandomState(0).randint(0, 256, size=(20, 4, 4), dtype=np.uint8)
    np.savez(path, images=images)
    config = dict(path=path, key='images', num_test=2, num_validation=2, split_seed=123)
    dataset = arrays.make_npz_dataset('train', 4, seed=0, **config)
    before = arrays.npz_fingerprint('train', **config)
    self.assertEqual(fingerprints.of(dataset), before)
    self.assertEqual(before['images'], 16)
    self.assertEqual(before['sha256'], fingerprints.sha256_of_file(path))
    images[7, 0, 0] ^= 1  # One pixel of one image.
    np.savez(path, images=images)
    after = arrays.npz_fingerprint('train', **config)
    self.assertEqual(after['images'], 16)
    self.assertNotEqual(after['sha256'], before['sha256'])

  def test_digits_fingerprint_is_the_splits_content(self):
    config = dict(num_test=297, num_validation=300, split_seed=123)
    train = arrays.digits_fingerprint('train', **config)
    self.assertEqual(fingerprints.of(arrays.make_digits_dataset('train', 4, seed=0, **config)),
                     train)
    self.assertEqual(train['images'], 1200)
    self.assertNotEqual(arrays.digits_fingerprint('test', **config)['sha256'], train['sha256'])

  def test_digits_split_1200_300_297(self):
    digits = {split: self._read(arrays.make_digits_dataset, split)
              for split in ('train', 'validation', 'test')}
    self.assertEqual({s: len(v) for s, v in digits.items()},
                     {'train': 1200, 'validation': 300, 'test': 297})
    for images in digits.values():
      self.assertEqual(images.shape[1:], (8, 8, 1))
      self.assertAllInRange(images, 0., 1.)
    # The 1,797 digits are pairwise distinct, so 1,797 distinct images in all means disjoint.
    self.assertLen({image.tobytes() for images in digits.values() for image in images}, 1797)


if __name__ == '__main__':
  tf.test.main()
