"""Tests of the paper's CelebA conv encoder and deterministic decoder (tiny widths)."""

from absl.testing import parameterized
import gin
import tensorflow as tf

from spreadtf.models import celeba_conv


class CelebaConvTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  @parameterized.named_parameters(
      ('celeba_size', (64, 64, 3), (4, 4, 4, 4)),
      ('small_image', (16, 16, 3), (4, 4)))
  def test_shapes_and_pixel_range(self, image_shape, filters):
    encoder = celeba_conv.make_encoder(image_shape, latent_dim=5, filters=filters)
    decoder = celeba_conv.make_decoder(image_shape, latent_dim=5, filters=filters,
                                       dense_filters=4)
    mean, log_std = encoder(tf.zeros((2,) + image_shape))
    self.assertEqual(mean.shape, [2, 5])
    self.assertEqual(log_std.shape, [2, 5])
    images = decoder(mean)
    self.assertEqual(images.shape, (2,) + image_shape)
    self.assertAllInRange(images, 0., 1.)

  def test_paper_widths(self):
    encoder = celeba_conv.make_encoder((64, 64, 3), latent_dim=100)
    decoder = celeba_conv.make_decoder((64, 64, 3), latent_dim=100)
    self.assertEqual(encoder.get_layer('conv_3').output.shape, (None, 4, 4, 1024))
    self.assertEqual(decoder.get_layer('dense').output.shape, (None, 4 * 4 * 1024))
    self.assertEqual(decoder.get_layer('deconv_3').output.shape, (None, 64, 64, 64))
    # Only the 4x4 maps use the patch-matmul layers (the same function as Keras' convs).
    self.assertEqual(
        [type(encoder.get_layer(f'conv_{i}')).__name__ for i in range(4)],
        ['Conv2D', 'Conv2D', 'Conv2D', 'PatchConv2D'])
    self.assertEqual(
        [type(decoder.get_layer(f'deconv_{i}')).__name__ for i in range(4)],
        ['PatchConv2DTranspose', 'Conv2DTranspose', 'Conv2DTranspose', 'Conv2DTranspose'])

  def test_decoder_rejects_an_image_size_not_divisible_by_16(self):
    with self.assertRaisesRegex(ValueError, 'divisible by 16'):
      celeba_conv.make_decoder((60, 60, 3), latent_dim=5)


if __name__ == '__main__':
  tf.test.main()
