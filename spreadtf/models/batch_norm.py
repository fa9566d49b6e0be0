"""FusedBatchNorm: BatchNorm over the channels of NHWC images through one fused TF kernel.

Keras 3's `BatchNormalization` computes the moments and the normalisation as separate ops. On
CPU that made BatchNorm a large part of the CelebA conv train step (docs/results.md, "CelebA conv
nets on CPU"). This layer calls TensorFlow's fused kernel
(`FusedBatchNormV3`, also what TF-Keras 2 used) with the same parameters, defaults and
moving-average update. Differences from Keras 3: the moving variance is updated with the unbiased
batch variance (as in TF-Keras 2 and PyTorch), inputs must be 4-D channels-last, and the moving
moments are averaged across replicas (`aggregation='mean'`), so every replica, checkpoint and
export holds the same values: the moving average of the replica-mean batch moments (the update is
linear). Keras leaves them per replica, so a checkpoint would hold replica 0's. The normalisation
itself uses each replica's own batch moments (no synchronised variant), as Keras' and PyTorch's
defaults do, so with BatchNorm a step on N replicas is not exactly the step on one device.
"""

import keras
import tensorflow as tf

from spreadtf import _compat

__all__ = ['FusedBatchNorm']


class FusedBatchNorm(keras.layers.Layer):
  """Batch normalisation of `[batch, height, width, channels]` inputs over batch and space.

  Training: y = gamma * (x - mean_b) / sqrt(var_b + epsilon) + beta with the batch moments, and
  moving = momentum * moving + (1 - momentum) * batch. Inference uses the moving moments.
  Parameters and moving moments are float32 under mixed precision; the output has the layer's
  compute dtype.
  """

  def __init__(self, momentum=0.99, epsilon=1e-3, **kwargs):
    """Builds the layer.

    Args:
      momentum: moving-average momentum.
      epsilon: variance epsilon.
      **kwargs: passed to `keras.layers.Layer` (`name`, `dtype`).
    """
    super().__init__(**kwargs)
    self.momentum = float(momentum)
    self.epsilon = float(epsilon)

  def build(self, input_shape):
    if len(input_shape) != 4:
      raise ValueError(f'FusedBatchNorm needs [batch, height, width, channels] inputs, got '
                       f'shape {input_shape}.')
    shape = (input_shape[-1],)
    self.gamma = self.add_weight(shape=shape, name='gamma', initializer='ones', autocast=False)
    self.beta = self.add_weight(shape=shape, name='beta', initializer='zeros', autocast=False)
    # 'mean': an assignment in a replica context averages the replicas' values (one small
    # all-reduce per layer and step), so all replicas keep the same moving moments.
    self.moving_mean = self.add_weight(shape=shape, name='moving_mean', initializer='zeros',
                                       trainable=False, autocast=False, aggregation='mean')
    self.moving_variance = self.add_weight(shape=shape, name='moving_variance',
                                           initializer='ones', trainable=False, autocast=False,
                                           aggregation='mean')

  def call(self, inputs, training=False):
    gamma = tf.convert_to_tensor(self.gamma)
    beta = tf.convert_to_tensor(self.beta)
    if training and self.trainable:
      outputs, mean, variance = _compat.fused_batch_norm(
          inputs, gamma, beta, epsilon=self.epsilon, is_training=True)
      self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1. - self.momentum))
      self.moving_variance.assign(
          self.moving_variance * self.momentum + variance * (1. - self.momentum))
    else:
      outputs, _, _ = _compat.fused_batch_norm(
          inputs, gamma, beta, mean=tf.convert_to_tensor(self.moving_mean),
          variance=tf.convert_to_tensor(self.moving_variance), epsilon=self.epsilon,
          is_training=False)
    return tf.cast(outputs, self.compute_dtype)

  def compute_output_shape(self, input_shape):
    return input_shape

  def get_config(self):
    return {**super().get_config(), 'momentum': self.momentum, 'epsilon': self.epsilon}
