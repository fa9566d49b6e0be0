"""Tests of FusedBatchNorm against Keras' BatchNormalization."""

from absl.testing import parameterized
import gin
import keras
import numpy as np
import tensorflow as tf

from spreadtf.models import batch_norm


class FusedBatchNormTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)
    self.x = tf.random.stateless_normal([8, 6, 6, 5], seed=[1, 2]) * 3. + 1.

  def test_matches_keras_in_training(self):
    reference, fused = keras.layers.BatchNormalization(), batch_norm.FusedBatchNorm()
    self.assertAllClose(fused(self.x, training=True), reference(self.x, training=True),
                        atol=1e-5)
    self.assertAllClose(fused.moving_mean, reference.moving_mean, atol=1e-6)
    # The moving variance uses the unbiased batch variance (n / (n - 1), n = 8 * 6 * 6).
    batch_variance = np.var(self.x.numpy(), axis=(0, 1, 2), ddof=1)
    self.assertAllClose(fused.moving_variance, 0.99 + 0.01 * batch_variance, rtol=1e-5)

  def test_inference_uses_moving_moments(self):
    fused = batch_norm.FusedBatchNorm(epsilon=0.)
    fused(self.x)
    fused.moving_mean.assign(tf.fill([5], 1.))
    fused.moving_variance.assign(tf.fill([5], 4.))
    self.assertAllClose(fused(self.x, training=False), (self.x - 1.) / 2., atol=1e-5)

  def test_mixed_bfloat16(self):
    fused = batch_norm.FusedBatchNorm(dtype='mixed_bfloat16')
    with tf.GradientTape() as tape:
      y = fused(tf.cast(self.x, tf.bfloat16), training=True)
      loss = tf.reduce_sum(tf.square(tf.cast(y, tf.float32)))
    self.assertEqual(y.dtype, tf.bfloat16)
    self.assertEqual(fused.moving_mean.dtype, 'float32')
    for gradient in tape.gradient(loss, fused.trainable_variables):
      self.assertTrue(np.all(np.isfinite(gradient)))

  def test_rejects_non_image_inputs(self):
    with self.assertRaisesRegex(ValueError, 'channels'):
      batch_norm.FusedBatchNorm()(tf.zeros([2, 3]))


if __name__ == '__main__':
  tf.test.main()
