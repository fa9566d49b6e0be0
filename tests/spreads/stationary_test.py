"""Tests for the stationary-kernel base (spreadtf/spreads/stationary.py)."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from spreadtf.spreads import spread_distribution
from spreadtf.spreads import spreading
from spreadtf.spreads import stationary

tfd = tfp.distributions


class _IsotropicGaussian(stationary.StationaryKernel):
  """A user's stationary kernel: N(y | x, s^2 I) on vector events as one multivariate normal."""

  def at(self, loc, event_ndims=1):
    loc = self._checked_loc(loc, event_ndims)
    return tfd.MultivariateNormalDiag(loc, tf.ones_like(loc) * self._checked_scale())

  def noise(self, shape, seed=None):
    return tf.random.stateless_normal(shape, seed=seed) * self._checked_scale()

  def variance(self):
    return tf.square(self._checked_scale())

  def characteristic_function(self, omega, event_ndims=1):
    return tf.exp(-0.5 * tf.reduce_sum(tf.square(self._checked_scale() * omega), axis=-1))

  def _checked_data(self, x):
    x = self._checked_loc(x, 1, name='x')
    return x, tf.shape(x)


class StationaryKernelTest(tf.test.TestCase, parameterized.TestCase):

  def test_sample_spread_is_the_data_plus_the_kernels_noise(self):
    kernel = _IsotropicGaussian(0.5)
    x = tf.random.stateless_normal([4, 3], seed=[1, 1])
    self.assertAllEqual(kernel.sample_spread(x, seed=[2, 3]),
                        x + kernel.noise([4, 3], seed=[2, 3]))
    self.assertAllEqual(kernel.spread_mean(x), x)
    self.assertTrue(kernel.is_valid_spread)
    self.assertEqual(kernel.dtype, tf.float32)

  def test_spread_finds_closed_forms_by_type_not_by_noise(self):
    kernel = _IsotropicGaussian(0.5)
    point = spreading.spread(tfd.VectorDeterministic([0., 1.]), kernel)
    self.assertIsInstance(point, tfd.MultivariateNormalDiag)
    # Gaussian, but not a GaussianSpread: no registered closed form for a Normal base.
    mvn = spreading.spread(tfd.MultivariateNormalDiag([0., 1.]), kernel, num_samples=10)
    self.assertIsInstance(mvn, spread_distribution.SpreadDistribution)

  def test_scale_is_checked_for_every_subclass(self):
    with self.assertRaisesRegex(ValueError, '`scale` must be strictly positive'):
      _IsotropicGaussian(-1.)
    with self.assertRaisesRegex(TypeError, '`scale` must have a floating dtype'):
      _IsotropicGaussian(tf.constant(1))
    with self.assertRaisesRegex(TypeError, '`scale` has dtype float64 but the spread kernel uses '
                                'float32'):
      _IsotropicGaussian(tf.constant(1., tf.float64), dtype=tf.float32)
    self.assertEqual(_IsotropicGaussian(1., dtype=tf.float64).dtype, tf.float64)

  def test_subclass_without_its_noise_cannot_be_built(self):

    class NoNoise(_IsotropicGaussian):
      noise = stationary.StationaryKernel.noise

    with self.assertRaisesRegex(TypeError, 'abstract method.*noise'):
      NoNoise(1.)

  @parameterized.named_parameters(
      # (name, loc shape, scale shape, event_ndims, expected broadcast shape).
      ('scalar_events_batch_grows', [1, 5], [3, 1], 0, [3, 5]),
      ('vector_events_scale_batch', [1, 5], [3, 1], 1, [3, 5]),
      ('vector_events_new_leading_axis', [4, 1, 5], [3, 5], 1, [4, 3, 5]),
      ('image_events_per_channel_scale', [2, 4, 4, 3], [3], 3, [2, 4, 4, 3]),
      ('unknown_rank', None, [3], 1, None),
  )
  def test_broadcast_shape_is_tfps_rule_with_the_event_kept(self, loc_shape, scale_shape,
                                                            event_ndims, expected):
    shape = stationary.broadcast_shape(tf.TensorShape(loc_shape), scale_shape, event_ndims)
    self.assertEqual(shape.as_list() if shape.rank is not None else None, expected)
    if loc_shape is not None:
      # The same as TFP's broadcast of the two parameters.
      self.assertEqual(shape, tfd.Normal(np.zeros(loc_shape, np.float32),
                                         np.ones(scale_shape, np.float32)).batch_shape)

  def test_broadcast_shape_refuses_an_event_the_scale_would_grow(self):
    with self.assertRaisesRegex(ValueError, r'`scale` of shape \(3,\) does not fit the event shape '
                                r'\(1,\) of `x`'):
      stationary.broadcast_shape([4, 1], [3], 1, name='x')


if __name__ == '__main__':
  tf.test.main()
