"""Tests for implicit models (spreadtf/spreads/pushforward.py)."""

import tensorflow as tf
import tensorflow_probability as tfp

from spreadtf.spreads import kernels
from spreadtf.spreads import pushforward
from spreadtf.spreads import spreading

tfd = tfp.distributions


def _generator(z):
  """A 1-d latent mapped onto a curve in 3-d: an implicit model with no density."""
  return tf.concat([z, tf.sin(2. * z), 0.5 * z**2], axis=-1)



class PushforwardTest(tf.test.TestCase):

  def test_pushforward_has_samples_but_no_density(self):
    model = pushforward.Pushforward(tfd.Normal(tf.zeros([1]), 1.), _generator, [3])
    self.assertEqual(model.event_shape, [3])
    self.assertEqual(model.sample(4, seed=[1, 2]).shape, [4, 3])
    with self.assertRaisesRegex(NotImplementedError, 'has no density'):
      model.log_prob(tf.zeros([3]))
    spread = spreading.spread(model, kernels.GaussianSpread(0.2), num_samples=64, seed=[3, 4])
    self.assertAllEqual(tf.math.is_finite(spread.log_prob(tf.ones([5, 3]))), [True] * 5)


if __name__ == '__main__':
  tf.test.main()
