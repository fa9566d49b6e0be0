"""Spreading both distributions is what makes the objective unbiased (docs/method.md 2.8).

Fitting the scale of a model N(0, sigma^2) to data N(0, 1) under a Gaussian spread of scale s:
the spread KL(p~ || q~) is minimised at the truth, sigma = 1; spreading only the model,
KL(p || q~), at sigma^2 = 1 - s^2; spreading only the data, KL(p~ || q), at sigma^2 = 1 + s^2.
"""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

import spreadtf

tfd = tfp.distributions

_SIGMAS = np.linspace(0.5, 1.5, 2001).astype(np.float32)   # grid step 5e-4


def _argmin(objective):
  values = objective(tfd.Normal(np.zeros_like(_SIGMAS), _SIGMAS)).numpy()
  return float(_SIGMAS[np.argmin(values)])


class OneSidedSpreadTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(0.3, 0.6)
  def test_only_the_two_sided_spread_kl_recovers_the_data_scale(self, scale):
    data = tfd.Normal(0., 1.)
    kernel = spreadtf.GaussianSpread(scale)
    both = _argmin(lambda model: spreadtf.spread_kl(data, model, kernel))
    model_only = _argmin(lambda model: tfd.kl_divergence(data, spreadtf.spread(model, kernel)))
    data_only = _argmin(lambda model: tfd.kl_divergence(spreadtf.spread(data, kernel), model))
    self.assertNear(both, 1., 1e-3)
    self.assertNear(model_only, np.sqrt(1. - scale ** 2), 1e-3)
    self.assertNear(data_only, np.sqrt(1. + scale ** 2), 1e-3)

  def test_monte_carlo_two_sided_estimate_is_smallest_at_the_truth(self):
    # The same through the Monte Carlo estimator (no closed form used): common random numbers
    # make the three estimates comparable; the truth wins by far more than their noise.
    data = tfd.Normal(0., 1.)
    kernel = spreadtf.LaplaceSpread(0.4)
    estimates = [float(spreadtf.spread_kl(data, tfd.Normal(0., sigma), kernel, monte_carlo=True,
                                          num_samples=4000, seed=tf.constant([0, 1])))
                 for sigma in (0.7, 1., 1.4)]
    self.assertLess(estimates[1], estimates[0] - 0.01)
    self.assertLess(estimates[1], estimates[2] - 0.01)


if __name__ == '__main__':
  tf.test.main()
