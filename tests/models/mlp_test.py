"""Tests of the MLP encoder and deterministic decoder (tiny widths)."""

from absl.testing import parameterized
import gin
import tensorflow as tf

from spreadtf.models import mlp


class MlpTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  def test_shapes_and_pixel_range(self):
    encoder = mlp.make_encoder((28, 28, 1), latent_dim=5, hidden_units=(8,))
    decoder = mlp.make_decoder((28, 28, 1), latent_dim=5, hidden_units=(8,))
    mean, log_std = encoder(tf.zeros((2, 28, 28, 1)))
    self.assertEqual(mean.shape, [2, 5])
    self.assertEqual(log_std.shape, [2, 5])
    images = decoder(mean)
    self.assertEqual(images.shape, (2, 28, 28, 1))
    self.assertAllInRange(images, 0., 1.)

  def test_mixed_precision_policy(self):
    decoder = mlp.make_decoder((28, 28, 1), 3, hidden_units=(8,), dtype_policy='mixed_bfloat16')
    self.assertEqual(decoder(tf.zeros([1, 3])).dtype, tf.bfloat16)


if __name__ == '__main__':
  tf.test.main()
