"""Tests of FusedBatchNorm against Keras' BatchNormalization, and its moments across replicas."""

import json
import os
import subprocess
import sys
import textwrap

from absl.testing import parameterized
import gin
import keras
import numpy as np
import tensorflow as tf

from spreadtf.models import batch_norm

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Two logical CPUs must be configured before TensorFlow initialises: a fresh process.
_MIRRORED_SCRIPT = textwrap.dedent('''
    import json
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices('CPU')[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from spreadtf.models import batch_norm

    strategy = tf.distribute.MirroredStrategy(['/cpu:0', '/cpu:1'])
    x = tf.random.stateless_normal([8, 4, 4, 3], seed=[1, 2]) * 3. + 1.
    x = tf.concat([x[:4], x[4:] + 5.], axis=0)  # The two replicas see different moments.
    with strategy.scope():
      layer = batch_norm.FusedBatchNorm()
      layer.build(x.shape)
    dataset = tf.data.Dataset.from_tensors(x).unbatch().batch(8)
    batch = next(iter(strategy.experimental_distribute_dataset(dataset)))
    tf.function(lambda b: strategy.run(lambda t: layer(t, training=True), args=(b,)))(batch)
    means = [v.numpy().tolist()
             for v in strategy.experimental_local_results(layer.moving_mean.value)]
    halves = [np.mean(x.numpy()[:4], axis=(0, 1, 2)), np.mean(x.numpy()[4:], axis=(0, 1, 2))]
    print(json.dumps({'means': means, 'expected': (0.01 * np.mean(halves, axis=0)).tolist()}))
''')


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

  def test_replicas_keep_the_mean_moving_moments(self):
    script = os.path.join(self.create_tempdir().full_path, 'bn.py')
    with open(script, 'w') as f:
      f.write(_MIRRORED_SCRIPT)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3',
               PYTHONPATH=os.pathsep.join([_REPO, os.environ.get('PYTHONPATH', '')]))
    out = subprocess.run([sys.executable, script], capture_output=True, text=True, env=env,
                         timeout=300, check=False)
    self.assertEqual(out.returncode, 0, out.stderr[-3000:])
    result = json.loads(out.stdout.strip().splitlines()[-1])
    self.assertLen(result['means'], 2)
    self.assertAllClose(result['means'][0], result['means'][1], atol=1e-7)
    # 0.99 * 0 + 0.01 * (mean of the two replicas' batch means).
    self.assertAllClose(result['means'][0], result['expected'], rtol=1e-5)

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
