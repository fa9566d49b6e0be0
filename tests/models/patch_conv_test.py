"""PatchConv2D / PatchConv2DTranspose compute Keras' Conv2D / Conv2DTranspose ('same')."""

from absl.testing import parameterized
import gin
import keras
import tensorflow as tf

from spreadtf.models import patch_conv


def _value_and_gradients(layer, x):
  """Output and the gradients of a scalar that weighs every output differently."""
  with tf.GradientTape() as tape:
    tape.watch(x)
    y = layer(x)
    weights = tf.random.stateless_normal(tf.shape(y), seed=[9, 9])
    loss = tf.reduce_sum(weights * y + tf.sin(y))
  return y, tape.gradient(loss, [x] + layer.trainable_variables)


class PatchConvTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  def _assert_same_function(self, reference, mine, x):
    """Same outputs and gradients (input, kernel, bias) given the same weights."""
    reference.build(x.shape)
    mine.build(x.shape)
    mine.set_weights([w + 0.1 for w in reference.get_weights()])  # A non-zero bias too.
    reference.set_weights(mine.get_weights())
    y_ref, grads_ref = _value_and_gradients(reference, x)
    y, grads = _value_and_gradients(mine, x)
    self.assertEqual(y.shape, y_ref.shape)
    self.assertEqual(tuple(y.shape), mine.compute_output_shape(x.shape))
    self.assertAllClose(y, y_ref, atol=1e-5)
    for grad, grad_ref in zip(grads, grads_ref, strict=True):
      self.assertAllClose(grad, grad_ref, atol=1e-4)

  @parameterized.named_parameters(
      ('paper_5x5_stride2', 5, 2, [3, 8, 8, 6], 7),
      ('odd_size', 5, 2, [2, 7, 5, 3], 4),
      ('3x3_stride1', 3, 1, [2, 6, 6, 4], 5),
      ('4x4_stride2', 4, 2, [2, 6, 6, 3], 2),
      ('1x1_stride3', 1, 3, [2, 7, 7, 2], 3))
  def test_conv_matches_keras(self, kernel_size, strides, shape, filters):
    self._assert_same_function(
        keras.layers.Conv2D(filters, kernel_size, strides, padding='same'),
        patch_conv.PatchConv2D(filters, kernel_size, strides),
        tf.random.stateless_normal(shape, seed=[1, 2]))

  @parameterized.named_parameters(
      ('paper_5x5_stride2', 5, 2, [3, 4, 4, 6], 5),
      ('non_square', 5, 2, [2, 3, 5, 3], 4),
      ('3x3_stride1', 3, 1, [2, 5, 5, 4], 3),
      ('4x4_stride2', 4, 2, [2, 3, 3, 3], 2),
      ('3x3_stride2', 3, 2, [2, 4, 4, 2], 3),
      ('2x2_stride3', 2, 3, [2, 3, 3, 2], 2))
  def test_transposed_conv_matches_keras(self, kernel_size, strides, shape, filters):
    self._assert_same_function(
        keras.layers.Conv2DTranspose(filters, kernel_size, strides, padding='same'),
        patch_conv.PatchConv2DTranspose(filters, kernel_size, strides),
        tf.random.stateless_normal(shape, seed=[3, 4]))

  def test_same_padding_matches_tensorflow(self):
    for size, kernel, stride in [(8, 5, 2), (7, 5, 2), (6, 3, 1), (5, 1, 3), (6, 4, 2)]:
      before, after = patch_conv.same_padding(size, kernel, stride)
      x = tf.random.stateless_normal([1, size, 1, 1], seed=[0, size])
      w = tf.random.stateless_normal([kernel, 1, 1, 1], seed=[1, kernel])
      padded = tf.pad(x, [[0, 0], [before, after], [0, 0], [0, 0]])
      self.assertAllClose(tf.nn.conv2d(x, w, [1, stride, 1, 1], 'SAME'),
                          tf.nn.conv2d(padded, w, [1, stride, 1, 1], 'VALID'), atol=1e-6)

  def test_mixed_precision_and_dynamic_batch(self):
    layer = patch_conv.PatchConv2D(4, 5, 2, dtype='mixed_bfloat16')
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, layer(inputs))
    y = model(tf.ones([2, 8, 8, 3]))
    self.assertEqual(y.dtype, tf.bfloat16)
    self.assertEqual(layer.kernel.dtype, 'float32')
    self.assertEqual(y.shape, [2, 4, 4, 4])

  def test_rejects_unknown_spatial_size(self):
    with self.assertRaisesRegex(ValueError, 'static height and width'):
      patch_conv.PatchConv2D(4, 5, 2).build((None, None, None, 3))


if __name__ == '__main__':
  tf.test.main()
