"""Tests for `spread`: closed forms from the registry, else the Monte Carlo fallback."""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from spreadtf.spreads import kernels
from spreadtf.spreads import pushforward
from spreadtf.spreads import spread_distribution
from spreadtf.spreads import spreading

tfd = tfp.distributions


class SpreadTest(tf.test.TestCase):

  def test_registered_closed_form_is_returned(self):
    # N(1, 2^2) under a Gaussian kernel of scale 0.5 is N(1, 4.25), from the registry.
    spread = spreading.spread(tfd.Normal(1., 2.), kernels.GaussianSpread(0.5), num_samples=3)
    self.assertIsInstance(spread, tfd.Normal)
    self.assertAllClose(spread.stddev(), np.sqrt(4.25))

  def test_laplace_spread_of_normal_falls_back_to_monte_carlo(self):
    spread = spreading.spread(tfd.Normal(0., 1.), kernels.LaplaceSpread(0.5), num_samples=7,
                              seed=[1, 2])
    self.assertIsInstance(spread, spread_distribution.SpreadDistribution)
    self.assertEqual(spread.num_samples, 7)

  def test_scale_that_cannot_line_up_raises(self):
    with self.assertRaisesRegex(ValueError, r'batch shape \(2,\) .* does not broadcast with the '
                                r'batch shape \(3,\) of `distribution`'):
      spreading.spread(tfd.Normal([0., 1., 2.], 1.), kernels.LaplaceSpread([0.5, 1.]))
    with self.assertRaisesRegex(ValueError, r'does not fit the event shape \(3,\)'):
      spreading.spread(tfd.MultivariateNormalDiag(tf.zeros(3)), kernels.GaussianSpread([1., 2.]))
    with self.assertRaisesRegex(ValueError, r'does not fit the event shape \(1,\)'):
      spreading.spread(pushforward.Pushforward(tfd.Normal(tf.zeros([1]), 1.), tf.identity, [1]),
                       kernels.GaussianSpread([1., 2.]))


  def test_bad_arguments_raise(self):
    with self.assertRaisesRegex(TypeError, '`distribution` must be a tfd.Distribution'):
      spreading.spread(np.zeros(3), kernels.LaplaceSpread(1.))
    with self.assertRaisesRegex(TypeError, '`kernel` must be a spreadtf.SpreadKernel, got Normal'):
      spreading.spread(tfd.Normal(0., 1.), tfd.Normal(0., 1.))


if __name__ == '__main__':
  tf.test.main()
