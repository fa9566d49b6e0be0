"""Tests of the image-folder loader (the test writes its own small jpg/png files)."""

import os
import random

from absl.testing import parameterized
import gin
import numpy as np
import tensorflow as tf

from spreadtf.data import fingerprints
from spreadtf.data import folder
from spreadtf.data import pipeline


def _encode(shape, ext, seed=0):
  pixels = tf.constant(np.random.RandomState(seed).randint(0, 256, size=shape, dtype=np.uint8))
  return (tf.io.encode_png(pixels) if ext == 'png' else tf.io.encode_jpeg(pixels)).numpy()


def _write_images(directory, num, shape=(218, 178, 3), ext='png', start=0):
  for i in range(start, start + num):
    tf.io.write_file(os.path.join(directory, f'{i:06d}.{ext}'), _encode(shape, ext, i))


def _read_everything(path, **config):
  """Reads the three splits once, one image per batch, so every file is decoded."""
  for split in ('train', 'validation', 'test'):
    for _ in folder.make_folder_dataset(split, 1, seed=0, path=path, num_test=1,
                                        num_validation=1, repeat=False, **config):
      pass


class FolderTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  def test_fingerprint_counts_and_hashes_the_file_names_and_sees_added_and_renamed_files(self):
    directory = self.create_tempdir().full_path
    _write_images(directory, 10, shape=(4, 4, 1))
    config = dict(path=directory, num_test=2, num_validation=2, split_seed=123)
    dataset = folder.make_folder_dataset('train', 2, seed=0, crop_size=None, image_size=None,
                                         channels=1, **config)
    before = folder.fingerprint('train', **config)
    self.assertEqual(fingerprints.of(dataset.map(lambda x: x)), before)  # What the factory noted.
    self.assertEqual((before['folder_files'], before['files']), (10, 6))
    self.assertIn(directory, before['source'])
    _write_images(directory, 2, shape=(4, 4, 1), start=10)
    added = folder.fingerprint('train', **config)
    self.assertEqual((added['folder_files'], added['files']), (12, 8))
    os.rename(os.path.join(directory, '000011.png'), os.path.join(directory, 'renamed.png'))
    renamed = folder.fingerprint('train', **config)
    self.assertEqual((renamed['folder_files'], renamed['files']), (12, 8))
    self.assertNotEqual(renamed['file_names_sha256'], added['file_names_sha256'])

  def test_loads_cropped_resized_batches(self):
    directory = self.create_tempdir().full_path
    _write_images(directory, 4, ext='png')
    _write_images(os.path.join(directory), 2, ext='jpg')
    self.assertLen(folder.list_images(directory), 6)
    dataset = folder.make_folder_dataset('train', 2, seed=0, path=directory, num_test=2,
                                         num_validation=2)
    batch = next(iter(dataset))
    self.assertEqual(batch.shape, [2, 64, 64, 3])
    self.assertEqual(batch.dtype, tf.float32)
    self.assertAllInRange(batch, 0., 1.)
    for split in ('validation', 'test'):
      held_out = folder.make_folder_dataset(split, 2, seed=0, path=directory, num_test=2,
                                            num_validation=2)
      self.assertEqual(next(iter(held_out)).shape, [2, 64, 64, 3])

  def test_three_disjoint_splits_with_the_test_files_of_the_two_way_split(self):
    directory = self.create_tempdir().full_path
    _write_images(directory, 12, shape=(4, 4, 3))
    read = {split: np.concatenate(list(folder.make_folder_dataset(
        split, 1, seed=0, path=directory, crop_size=None, image_size=None, num_test=3,
        num_validation=2, repeat=False))) for split in ('train', 'validation', 'test')}
    self.assertEqual({s: len(v) for s, v in read.items()}, {'train': 7, 'validation': 2, 'test': 3})
    # The 12 random PNGs are distinct, so 12 distinct images over the splits means disjoint.
    self.assertLen({image.tobytes() for images in read.values() for image in images}, 12)
    # The test files are the last 3 of the permutation, as in the split without validation.
    names = folder.list_images(directory)
    order = list(range(12))
    random.Random(123).shuffle(order)
    expected = [names[i] for i in sorted(order[-3:])]
    self.assertEqual(pipeline.split_items(names, 'test', 3, 2), expected)
    decoded = np.stack([tf.io.decode_png(tf.io.read_file(n)).numpy() / 255. for n in expected])
    self.assertAllClose(read['test'], decoded, atol=1e-6)

  def test_validation_count_that_does_not_fit_names_the_binding(self):
    directory = self.create_tempdir().full_path
    _write_images(directory, 4, shape=(4, 4, 3))
    with self.assertRaisesRegex(ValueError, 'folder.make_folder_dataset.num_validation'):
      folder.make_folder_dataset('train', 1, seed=0, path=directory, num_test=1)

  def test_missing_folder_names_path(self):
    path = os.path.join(self.create_tempdir().full_path, 'img_align_celeba')
    with self.assertRaisesRegex(FileNotFoundError, 'img_align_celeba'):
      folder.make_folder_dataset('train', 2, seed=0, path=path)

  @parameterized.named_parameters(('empty', [], 'it is empty'),
                                  ('only_other_files', ['notes.txt'], r"e.g. \['notes.txt'\]"))
  def test_folder_without_images_names_path_and_what_to_set(self, names, held):
    path = self.create_tempdir('empty_celeba').full_path
    for name in names:
      with open(os.path.join(path, name), 'w') as f:
        f.write('no images here')
    with self.assertRaisesRegex(ValueError, f'empty_celeba.*no .jpg.*{held}.*DATA_DIR'):
      folder.make_folder_dataset('train', 2, seed=0, path=path)

  def test_text_files_are_ignored(self):
    directory = self.create_tempdir().full_path
    _write_images(directory, 3, shape=(8, 8, 3))
    with open(os.path.join(directory, 'list_attr_celeba.txt'), 'w') as f:
      f.write('not an image')
    self.assertLen(folder.list_images(directory), 3)
    _read_everything(directory, crop_size=None, image_size=8)

  @parameterized.named_parameters(
      ('html_saved_as_jpg', b'<html>quota exceeded</html>', 'not a JPEG or PNG image'),
      ('empty_file', b'', 'not a JPEG or PNG image'),
      ('truncated_jpeg', _encode((16, 16, 3), 'jpg')[:300], 'truncated'),
      ('truncated_png', _encode((16, 16, 3), 'png')[:300], 'truncated'))
  def test_corrupt_file_is_named(self, contents, problem):
    directory = self.create_tempdir().full_path
    _write_images(directory, 3, shape=(16, 16, 3), ext='jpg')
    bad = os.path.join(directory, '000001.jpg')
    with open(bad, 'wb') as f:
      f.write(contents)
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError, f'{bad} is {problem}'):
      _read_everything(directory, crop_size=None, image_size=8)

  def test_grayscale_image_for_rgb_model_is_named_unless_converted(self):
    directory = self.create_tempdir().full_path
    _write_images(directory, 3, shape=(8, 8, 3))
    _write_images(directory, 1, shape=(8, 8, 1), start=3)
    grey = os.path.join(directory, '000003.png')
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError,
                                f'{grey} has 1 channel.*channels=3 .RGB.*convert_channels'):
      _read_everything(directory, crop_size=None, image_size=None)
    _read_everything(directory, crop_size=None, image_size=None, convert_channels=True)

  def test_rgb_images_for_grayscale_model_are_named(self):
    directory = self.create_tempdir().full_path
    _write_images(directory, 3, shape=(8, 8, 3))
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError, 'has 3 channel.*channels=1'):
      _read_everything(directory, crop_size=None, image_size=None, channels=1)

  def test_mixed_sizes_without_resize_are_named(self):
    directory = self.create_tempdir().full_path
    _write_images(directory, 3, shape=(8, 8, 3))
    _write_images(directory, 1, shape=(8, 6, 3), start=3)
    odd = os.path.join(directory, '000003.png')
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError,
                                f'{odd} is 8x6 pixels but .*000000.png is 8x8.*image_size'):
      _read_everything(directory, crop_size=None, image_size=None)
    _read_everything(directory, crop_size=None, image_size=4)

  def test_image_smaller_than_crop_is_named(self):
    directory = self.create_tempdir().full_path
    _write_images(directory, 2, shape=(8, 8, 3))
    _write_images(directory, 1, shape=(4, 8, 3), start=2)
    small = os.path.join(directory, '000002.png')
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError,
                                f'{small} is 4x8 pixels, smaller than crop_size=6'):
      _read_everything(directory, crop_size=6, image_size=None)

  def test_unreadable_first_image_is_named_when_sizes_are_read_up_front(self):
    directory = self.create_tempdir().full_path
    _write_images(directory, 2, shape=(8, 8, 3), start=1)
    with open(os.path.join(directory, '000000.png'), 'wb') as f:
      f.write(b'not a png')
    with self.assertRaisesRegex(ValueError, '000000.png is not a readable JPEG or PNG'):
      folder.make_folder_dataset('train', 1, seed=0, path=directory, crop_size=None,
                                 image_size=None, num_test=1, num_validation=1)


if __name__ == '__main__':
  tf.test.main()
