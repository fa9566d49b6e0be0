"""FLOP counts of the benchmarked networks against hand counts."""

from absl.testing import parameterized
import keras
import tensorflow as tf

from benchmarks import flops
from spreadtf.models import celeba_conv
from spreadtf.models import mlp
from spreadtf.models import patch_conv


class FlopsTest(tf.test.TestCase, parameterized.TestCase):

  def test_tiny_conv_encoder_matches_hand_count(self):
    encoder = celeba_conv.make_encoder((16, 16, 1), 3, filters=(2, 4), kernel_size=3)
    # conv_0 (Keras Conv2D, 16x16x1 -> 8x8x2): 64 pixels * 3*3*1*2 = 1152
    # conv_1 (PatchConv2D, 8x8x2 -> 4x4x4): 16 pixels * 3*3*2*4 = 1152
    # mean and log_std (dense 64 -> 3): 2 * 192
    self.assertEqual(flops.model_macs(encoder), 1152 + 1152 + 2 * 192)
    kinds = {type(layer) for layer in encoder.layers}
    self.assertContainsSubset({keras.layers.Conv2D, patch_conv.PatchConv2D}, kinds)

  def test_tiny_conv_decoder_matches_hand_count(self):
    decoder = celeba_conv.make_decoder((16, 16, 1), 3, filters=(4, 2), dense_filters=8,
                                       kernel_size=3)
    # dense 3 -> 4*4*8: 384
    # deconv_0 (PatchConv2DTranspose, 4x4x8 -> 8x8x4): 16 input pixels * 3*3*8*4 = 4608
    # deconv_1 (Keras Conv2DTranspose, 8x8x4 -> 16x16x2): 64 input pixels * 3*3*4*2 = 4608
    # pixels (Conv2DTranspose stride 1, 16x16x2 -> 16x16x1): 256 pixels * 3*3*2*1 = 4608
    self.assertEqual(flops.model_macs(decoder), 384 + 3 * 4608)
    kinds = {type(layer) for layer in decoder.layers}
    self.assertContainsSubset({keras.layers.Conv2DTranspose, patch_conv.PatchConv2DTranspose},
                              kinds)

  def test_mnist_mlp_matches_hand_count(self):
    encoder = mlp.make_encoder((28, 28, 1), 20)
    decoder = mlp.make_decoder((28, 28, 1), 20)
    self.assertEqual(flops.model_macs(encoder), 784 * 512 + 512 * 256 + 2 * 256 * 20)
    self.assertEqual(flops.model_macs(decoder), 20 * 256 + 256 * 512 + 512 * 784)

  def test_paper_celeba_nets_match_hand_count(self):
    encoder = celeba_conv.make_encoder((64, 64, 3), 100)
    decoder = celeba_conv.make_decoder((64, 64, 3), 100)
    per_tap = 5 * 5
    encoder_macs = (32 * 32 * per_tap * 3 * 128 + 16 * 16 * per_tap * 128 * 256
                    + 8 * 8 * per_tap * 256 * 512 + 4 * 4 * per_tap * 512 * 1024
                    + 2 * 4 * 4 * 1024 * 100)
    decoder_macs = (100 * 4 * 4 * 1024 + 4 * 4 * per_tap * 1024 * 512
                    + 8 * 8 * per_tap * 512 * 256 + 16 * 16 * per_tap * 256 * 128
                    + 32 * 32 * per_tap * 128 * 64 + 64 * 64 * per_tap * 64 * 3)
    self.assertEqual(flops.model_macs(encoder), encoder_macs)
    self.assertEqual(flops.model_macs(decoder), decoder_macs)
    self.assertEqual(encoder_macs + decoder_macs, 1_502_412_800)
    self.assertEqual(flops.train_step_flops(encoder_macs + decoder_macs), 9_014_476_800)

  def test_ais_counts_two_decoder_passes_per_leapfrog_step_of_every_chain(self):
    # T = 3: 2 transitions of 4 leapfrog steps, plus 2 evaluations at the start, = 10 gradients
    # per chain; 5 chains; a gradient is 2 passes of 100 MACs at 2 FLOPs per MAC.
    self.assertEqual(flops.ais_flops(100, num_steps=3, num_chains=5, num_leapfrog_steps=4),
                     10 * 5 * 2 * 100 * 2)

  def test_layer_of_unknown_cost_raises(self):
    inputs = keras.Input((8, 2))
    model = keras.Model(inputs, keras.layers.Conv1D(3, 2, name='temporal')(inputs))
    with self.assertRaisesRegex(ValueError, "'temporal'.*Conv1D"):
      flops.model_macs(model)


if __name__ == '__main__':
  tf.test.main()
