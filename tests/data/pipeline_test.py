"""Tests of the shared pipeline steps: scaling, the CelebA crop, splits, batching, shape check."""

import hashlib
import random
import re

from absl.testing import parameterized
import gin
import numpy as np
import tensorflow as tf

from spreadtf.data import pipeline


class PipelineTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  def test_to_unit_float(self):
    self.assertAllClose(pipeline.to_unit_float(tf.constant([0, 255], tf.uint8)), [0., 1.])
    self.assertAllClose(pipeline.to_unit_float(tf.constant([0.5])), [0.5])

  def test_celeba_center_crop_takes_the_central_square(self):
    image = tf.random.stateless_uniform([218, 178, 3], seed=[1, 2])
    # 218 x 178 -> rows 39..178, columns 19..158 (both offsets (size - 140) // 2).
    self.assertAllEqual(pipeline.center_crop_and_resize(image, 140, None), image[39:179, 19:159])

  def test_celeba_crop_then_antialiased_resize(self):
    image = tf.random.stateless_uniform([218, 178, 3], seed=[3, 4])
    out = pipeline.center_crop_and_resize(image, 140, 64)
    self.assertEqual(out.shape, [64, 64, 3])
    expected = tf.image.resize(image[39:179, 19:159], [64, 64], antialias=True)
    self.assertAllClose(out, expected, atol=1e-6)
    # A left-top crop would give something else.
    wrong = tf.image.resize(image[:140, :140], [64, 64], antialias=True)
    self.assertNotAllClose(out, wrong, atol=1e-2)

  def test_celeba_split_is_the_authors(self):
    # Known answer from the authors' CelebA data handler: the names '%.6d.jpg' % i for
    # i = 1..202599, random.seed(123); random.shuffle(paths), the last 20,000 held out.
    names = [f'{i:06d}.jpg' for i in range(1, 202600)]
    test = pipeline.split_items(names, 'test', 20000, 10000)
    self.assertLen(test, 20000)
    self.assertEqual(test[:5], ['000009.jpg', '000031.jpg', '000078.jpg', '000081.jpg',
                                '000092.jpg'])
    # The hash pinned before the validation split existed: the test files did not change.
    self.assertEqual(hashlib.sha256(','.join(test).encode()).hexdigest()[:16],
                     '5279e7090366af65')
    train = pipeline.split_items(names, 'train', 20000, 10000)
    validation = pipeline.split_items(names, 'validation', 20000, 10000)
    self.assertLen(train, 172599)
    self.assertLen(validation, 10000)
    # Validation is the end of the authors' training part (the first 182,599 of the permutation).
    order = list(range(len(names)))
    random.Random(123).shuffle(order)
    authors_train = {names[i] for i in order[:182599]}
    self.assertEqual(set(train) | set(validation), authors_train)
    self.assertEqual(set(validation), {names[i] for i in order[172599:182599]})

  @parameterized.named_parameters(('list', [f'f{i}' for i in range(10)]),
                                  ('array', np.arange(10) * 10))
  def test_split_items_gives_three_disjoint_fixed_splits_covering_the_items(self, items):
    splits = {split: pipeline.split_items(items, split, 3, 2) for split in pipeline.SPLITS}
    self.assertEqual({s: len(v) for s, v in splits.items()},
                     {'train': 5, 'validation': 2, 'test': 3})
    self.assertEqual(sorted(np.concatenate([list(v) for v in splits.values()]).tolist()),
                     sorted(items))   # disjoint and covering: every item exactly once
    for split, chosen in splits.items():
      self.assertEqual(type(chosen), type(items))
      self.assertAllEqual(chosen, pipeline.split_items(items, split, 3, 2))   # fixed
      # Each split keeps the items' order.
      positions = [list(items).index(item) for item in chosen]
      self.assertEqual(positions, sorted(positions))

  def test_split_items_keeps_the_test_items_when_validation_grows(self):
    items = [f'f{i}' for i in range(20)]
    tests = [pipeline.split_items(items, 'test', 4, n) for n in (1, 5, 15)]
    self.assertEqual(tests[0], tests[1])
    self.assertEqual(tests[0], tests[2])

  @parameterized.named_parameters(('no_test', 0, 2), ('no_validation', 3, 0),
                                  ('no_train', 7, 3), ('more_than_all', 9, 9))
  def test_split_items_rejects_counts_that_do_not_fit(self, num_test, num_validation):
    with self.assertRaisesRegex(
        ValueError, f'num_test={num_test} and num_validation={num_validation} must each be at '
        r'least 1 and leave at least one training item of the 10; set '
        r'arrays.make_npz_dataset.num_test and arrays.make_npz_dataset.num_validation'):
      pipeline.split_items(list(range(10)), 'train', num_test, num_validation,
                           configurable='arrays.make_npz_dataset')

  @parameterized.named_parameters(('abbreviated', 'val'), ('eval', 'eval'), ('none', None))
  def test_rejects_bad_split_listing_the_three(self, split):
    with self.assertRaisesRegex(
        ValueError, re.escape("split must be one of ('train', 'validation', 'test')")):
      pipeline.check_split(split)
    with self.assertRaisesRegex(ValueError, 'split must be one of'):
      pipeline.split_items(list(range(10)), split, 2, 2)

  def test_batch_images_drops_remainder_and_seeds_shuffle(self):
    images = tf.data.Dataset.from_tensor_slices(np.arange(10, dtype=np.float32))
    first = pipeline.batch_images(images, 'train', 4, seed=1, repeat=False)
    self.assertEqual(first.element_spec.shape, [4])
    batches = list(first)
    self.assertLen(batches, 2)
    again = pipeline.batch_images(images, 'train', 4, seed=1, repeat=False)
    self.assertAllEqual(batches, list(again))
    for split in ('validation', 'test'):   # held-out splits are read in order
      held_out = pipeline.batch_images(images, split, 4, seed=1, repeat=False)
      self.assertAllEqual(list(held_out), [[0., 1., 2., 3.], [4., 5., 6., 7.]])

  def test_check_image_shape_passes_a_matching_dataset_through(self):
    dataset = tf.data.Dataset.from_tensors(tf.zeros([2, 28, 28, 1]))
    self.assertIs(pipeline.check_image_shape(dataset, (28, 28, 1)), dataset)

  @parameterized.named_parameters(('size', [2, 28, 28, 1], (64, 64, 3)),
                                  ('channels', [2, 64, 64, 1], [64, 64, 3]),
                                  ('rank', [2, 784], (28, 28, 1)))
  def test_check_image_shape_names_both_shapes_and_the_macro(self, data_shape, image_shape):
    dataset = tf.data.Dataset.from_tensors(tf.zeros(data_shape))
    expected = tuple(image_shape)
    with self.assertRaisesRegex(ValueError, re.escape(
        f'images are {tuple(data_shape[1:])} but the model is built for IMAGE_SHAPE = '
        f'{expected}: set the gin macro IMAGE_SHAPE')):
      pipeline.check_image_shape(dataset, image_shape)

  def test_check_image_shape_checks_run_time_shapes_per_batch(self):
    def batches():
      yield np.zeros([2, 8, 8, 3], np.float32)
      yield np.zeros([2, 8, 6, 3], np.float32)

    dataset = tf.data.Dataset.from_generator(
        batches, output_signature=tf.TensorSpec([None, None, None, 3], tf.float32))
    checked = iter(pipeline.check_image_shape(dataset, (8, 8, 3)))
    self.assertEqual(next(checked).shape, [2, 8, 8, 3])
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError,
                                r'images are \(8, 6, 3\) but .* IMAGE_SHAPE = \(8, 8, 3\)'):
      next(checked)

  def test_check_image_shape_rejects_tuple_elements(self):
    dataset = tf.data.Dataset.from_tensors((tf.zeros([2, 8, 8, 1]), tf.zeros([2])))
    with self.assertRaisesRegex(TypeError, 'image batches'):
      pipeline.check_image_shape(dataset, (8, 8, 1))


if __name__ == '__main__':
  tf.test.main()
