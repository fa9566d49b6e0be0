"""Tests of the shared pipeline steps: scaling, the CelebA crop, splits, batching."""

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

  def test_celeba_center_crop_and_resize(self):
    image = tf.zeros([218, 178, 3]) + tf.reshape(tf.range(218, dtype=tf.float32) / 218.,
                                                 [218, 1, 1])
    out = pipeline.center_crop_and_resize(image, 140, 64)
    self.assertEqual(out.shape, [64, 64, 3])
    # The central 140 rows of 218 start at row 39: the first output row is about 39 / 218.
    self.assertAllClose(out[0, 0, 0], 40. / 218., atol=0.01)

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
    self.assertAllEqual(list(test)[0], [0., 1., 2., 3.])


if __name__ == '__main__':
  tf.test.main()
