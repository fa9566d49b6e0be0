"""Tests of the shared pipeline steps: scaling, the CelebA crop, splits, batching, shape check."""

import hashlib
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
    test = pipeline.split_items(names, 'test', 20000)
    self.assertLen(test, 20000)
    self.assertEqual(test[:5], ['000009.jpg', '000031.jpg', '000078.jpg', '000081.jpg',
                                '000092.jpg'])
    self.assertEqual(hashlib.sha256(','.join(test).encode()).hexdigest()[:16],
                     '5279e7090366af65')
    self.assertLen(pipeline.split_items(names, 'train', 20000), 182599)

  def test_split_items_is_disjoint_and_fixed(self):
    items = [f'f{i}' for i in range(10)]
    train = pipeline.split_items(items, 'train', 3)
    test = pipeline.split_items(items, 'test', 3)
    self.assertLen(train, 7)
    self.assertLen(test, 3)
    self.assertEmpty(set(train) & set(test))
    self.assertEqual(test, pipeline.split_items(items, 'test', 3))

  @parameterized.named_parameters(('none', 0), ('all', 10))
  def test_split_items_rejects_bad_num_test(self, num_test):
    with self.assertRaisesRegex(ValueError, 'num_test'):
      pipeline.split_items(list(range(10)), 'train', num_test)

  def test_rejects_bad_split(self):
    with self.assertRaisesRegex(ValueError, 'validation'):
      pipeline.check_split('validation')

  def test_batch_images_drops_remainder_and_seeds_shuffle(self):
    images = tf.data.Dataset.from_tensor_slices(np.arange(10, dtype=np.float32))
    first = pipeline.batch_images(images, 'train', 4, seed=1, repeat=False)
    self.assertEqual(first.element_spec.shape, [4])
    batches = list(first)
    self.assertLen(batches, 2)
    again = pipeline.batch_images(images, 'train', 4, seed=1, repeat=False)
    self.assertAllEqual(batches, list(again))
    test = pipeline.batch_images(images, 'test', 4, seed=1, repeat=False)
    self.assertAllEqual(next(iter(test)), [0., 1., 2., 3.])

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
