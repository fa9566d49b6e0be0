"""Tests of the image-folder loader (the test writes its own small jpg/png files)."""

import os

from absl.testing import parameterized
import gin
import numpy as np
import tensorflow as tf

from spreadtf.data import folder


def _write_images(directory, num, shape=(218, 178, 3), ext='png'):
  rng = np.random.RandomState(0)
  for i in range(num):
    pixels = tf.constant(rng.randint(0, 256, size=shape, dtype=np.uint8))
    data = tf.io.encode_png(pixels) if ext == 'png' else tf.io.encode_jpeg(pixels)
    tf.io.write_file(os.path.join(directory, f'{i:06d}.{ext}'), data)


class FolderTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  def test_loads_cropped_resized_batches(self):
    directory = self.create_tempdir().full_path
    _write_images(directory, 4, ext='png')
    _write_images(os.path.join(directory), 2, ext='jpg')
    self.assertLen(folder.list_images(directory), 6)
    dataset = folder.make_folder_dataset('train', 2, seed=0, path=directory, num_test=2)
    batch = next(iter(dataset))
    self.assertEqual(batch.shape, [2, 64, 64, 3])
    self.assertEqual(batch.dtype, tf.float32)
    self.assertAllInRange(batch, 0., 1.)
    test = folder.make_folder_dataset('test', 2, seed=0, path=directory, num_test=2)
    self.assertEqual(next(iter(test)).shape, [2, 64, 64, 3])

  def test_missing_folder_names_path(self):
    path = os.path.join(self.create_tempdir().full_path, 'img_align_celeba')
    with self.assertRaisesRegex(FileNotFoundError, 'img_align_celeba'):
      folder.make_folder_dataset('train', 2, seed=0, path=path)

  def test_empty_folder_names_path(self):
    path = self.create_tempdir('empty_celeba').full_path
    with open(os.path.join(path, 'notes.txt'), 'w') as f:
      f.write('no images here')
    with self.assertRaisesRegex(ValueError, 'empty_celeba'):
      folder.make_folder_dataset('train', 2, seed=0, path=path)


if __name__ == '__main__':
  tf.test.main()
