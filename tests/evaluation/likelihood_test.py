"""Tests of the held-out spread ELBO and the importance-weighted log-likelihood.

A linear decoder g(z) = W z + b with a Gaussian kernel of scale s has the exact spread density
p~(y) = N(y | b, W W^T + s^2 I), and with orthogonal columns of W its posterior is diagonal, so an
encoder can be made exact: then every importance weight equals p~(y) and the estimate is exact
for any K. A perturbed encoder shows the bound rising with K towards that exact value.
"""

import keras
import numpy as np
from scipy import stats
import tensorflow as tf

import spreadtf
from spreadtf.evaluation import likelihood
from spreadtf.models import spread_vae

_SHAPE = (2, 2, 1)
_D, _LATENT = 4, 2
_SCALE = 0.5


def _linear_gaussian(shift=0., std_factor=1.):
  """(W, b, encoder, decoder): the exact posterior encoder, optionally perturbed."""
  q, _ = np.linalg.qr(np.random.RandomState(0).normal(size=(_D, _LATENT)))
  w = q * np.array([1.5, 0.8])                        # orthogonal columns
  b = np.array([0.2, -0.1, 0.3, 0.05])
  posterior_var = 1. / (1. + np.sum(w ** 2, 0) / _SCALE ** 2)
  kernel = w * posterior_var / _SCALE ** 2            # mean = (y - b) @ kernel

  images = keras.Input(_SHAPE)
  flat = keras.layers.Flatten()(images)
  mean = keras.layers.Dense(_LATENT, name='mean')(flat)
  log_std = keras.layers.Dense(_LATENT, name='log_std')(flat)
  encoder = keras.Model(images, (mean, log_std))
  encoder.get_layer('mean').set_weights([kernel, -b @ kernel + shift])
  encoder.get_layer('log_std').set_weights(
      [np.zeros((_D, _LATENT)), 0.5 * np.log(posterior_var) + np.log(std_factor)])

  z = keras.Input((_LATENT,))
  pixels = keras.layers.Dense(_D, name='pixels')(z)
  decoder = keras.Model(z, keras.layers.Reshape(_SHAPE)(pixels))
  decoder.get_layer('pixels').set_weights([w.T, b])
  return w, b, encoder, decoder


def _posterior_kl(shift, std_factor):
  """KL(q || p(z|x)) of the perturbed encoder: the gap between log p(x) and the ELBO."""
  w, _, _, _ = _linear_gaussian()
  posterior_var = 1. / (1. + np.sum(w ** 2, 0) / _SCALE ** 2)
  return float(np.sum(-np.log(std_factor) + (std_factor ** 2 * posterior_var + shift ** 2)
                      / (2. * posterior_var) - 0.5))


def _model(spread_data, **perturbation):
  w, b, encoder, decoder = _linear_gaussian(**perturbation)
  model = spread_vae.SpreadVAE(encoder, decoder, spreadtf.GaussianSpread(_SCALE),
                               spread_data=spread_data)
  exact = stats.multivariate_normal(b, w @ w.T + _SCALE ** 2 * np.eye(_D))
  return model, exact, w, b


def _data(num, seed=1):
  return np.random.RandomState(seed).uniform(size=(num,) + _SHAPE).astype(np.float32)


class LikelihoodTest(tf.test.TestCase):

  def test_exact_posterior_gives_the_exact_log_likelihood_for_any_k(self):
    model, exact, _, _ = _model(spread_data=False)   # y = x: the density is of x itself
    x = _data(50)
    expected = exact.logpdf(x.reshape(50, _D))
    for k in (1, 7):
      estimate = likelihood.importance_weighted_log_likelihood(model, x, k, tf.constant([0, 0]))
      self.assertAllClose(estimate['per_example'], expected, rtol=1e-4, atol=1e-4)
      self.assertAllClose(estimate['elbo'], expected.mean(), rtol=1e-4, atol=1e-4)

  def test_spread_data_are_scored_under_the_spread_model_density(self):
    # Data on the model's own manifold, x = W z + b: then y = x + s eps ~ N(b, W W^T + s^2 I),
    # and the mean of log p~(y) over many images is minus that Gaussian's entropy.
    model, exact, w, b = _model(spread_data=True)
    z = np.random.RandomState(2).normal(size=(4000, _LATENT))
    x = (z @ w.T + b).reshape((-1,) + _SHAPE).astype(np.float32)
    estimate = likelihood.importance_weighted_log_likelihood(model, x, 3, tf.constant([0, 1]))
    self.assertNear(estimate['mean'], -exact.entropy(), 4. * estimate['stderr'])
    self.assertLess(estimate['stderr'], 0.05)

  def test_estimate_rises_with_k_towards_the_exact_value_and_bounds_the_elbo(self):
    model, exact, _, _ = _model(spread_data=False, shift=0.6, std_factor=1.8)
    x = _data(300)
    truth = exact.logpdf(x.reshape(300, _D)).mean()
    means = {}
    for k in (1, 10, 100, 3000):
      estimate = likelihood.importance_weighted_log_likelihood(model, x, k, tf.constant([3, k]))
      means[k] = estimate['mean']
      if k == 1:
        stderr = estimate['stderr']
      else:
        self.assertGreater(estimate['mean'], estimate['elbo'])  # Jensen, on the same draws
    self.assertLess(means[1], means[10])
    self.assertLess(means[10], means[100])
    self.assertLess(means[100], truth)
    # K = 1 misses log p(x) by KL(q || posterior) (3.5 nats here) in expectation ...
    self.assertNear(truth - means[1], _posterior_kl(0.6, 1.8), 4. * stderr)
    self.assertNear(means[3000], truth, 0.02)          # ... which large K recovers

  def test_k_equal_1_is_the_elbo_in_expectation(self):
    model, _, _, _ = _model(spread_data=False, shift=0.6, std_factor=1.8)
    x = _data(4000)
    iw1 = likelihood.importance_weighted_log_likelihood(model, x, 1, tf.constant([5, 5]))
    elbo = likelihood.spread_elbo(model, x, tf.constant([6, 6]))
    # Both estimate E_q[log w]; the ELBO's KL is exact, so its per-image spread is smaller.
    tolerance = 4. * np.hypot(iw1['stderr'], elbo['stderr'])
    self.assertNear(iw1['mean'], elbo['mean'], tolerance)

  def test_same_seed_gives_the_same_numbers(self):
    model, _, _, _ = _model(spread_data=True, shift=0.3)
    x = _data(20)
    first = likelihood.importance_weighted_log_likelihood(model, x, 5, tf.constant([1, 2]))
    again = likelihood.importance_weighted_log_likelihood(model, x, 5, tf.constant([1, 2]),
                                                          verbose=True)
    other = likelihood.importance_weighted_log_likelihood(model, x, 5, tf.constant([1, 3]))
    self.assertAllEqual(first['per_example'], again['per_example'])
    self.assertNotAllClose(first['per_example'], other['per_example'])
    elbo = likelihood.spread_elbo(model, x, tf.constant([1, 2]))
    self.assertAllEqual(elbo['per_example'],
                        likelihood.spread_elbo(model, x, tf.constant([1, 2]))['per_example'])

  def test_num_samples_must_be_positive(self):
    model, _, _, _ = _model(spread_data=True)
    with self.assertRaisesRegex(ValueError, 'num_samples'):
      likelihood.importance_weighted_log_likelihood(model, _data(2), 0, tf.constant([0, 0]))

  def test_bits_per_dim(self):
    self.assertAllClose(likelihood.bits_per_dim(-784. * np.log(2.), 784), 1.)


if __name__ == '__main__':
  tf.test.main()
