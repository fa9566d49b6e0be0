"""Tests of the cross-family yardstick log q~(y) and of the dequantised clean-data likelihood.

The linear-Gaussian VAE of `tests/testing.py` with observation noise s_v has the clean-data
density N(x | b, W W^T + s_v^2 I); spread with a Gaussian kernel of scale s it is
N(y | b, W W^T + (s_v^2 + s^2) I), which is checked against a plain Monte Carlo spread of the model,
x = W z + b + s_v eps, y-density mean_s K(y - x_s).
"""

import math

import numpy as np
from scipy import special
from scipy import stats
import tensorflow as tf

import spreadtf
from spreadtf.evaluation import likelihood
from spreadtf.evaluation import spread_likelihood
from tests import testing

_NOISE = 0.5     # the VAE's observation noise s_v
_KERNEL = 0.3    # the scoring kernel's scale s


def _vae():
  return testing.linear_gaussian_vae(spread_data=False, scale=_NOISE)


def _spread_exact(w, b):
  return stats.multivariate_normal(b, w @ w.T + (_NOISE ** 2 + _KERNEL ** 2) * np.eye(4))


class SpreadLikelihoodTest(tf.test.TestCase):

  def test_gaussian_vae_under_a_gaussian_kernel_is_a_gaussian_decoder_of_summed_variance(self):
    model, _, w, b = _vae()
    scoring, reason = spread_likelihood.spread_model(model, spreadtf.GaussianSpread(_KERNEL))
    self.assertIsNone(reason)
    self.assertAllClose(scoring.spread.scale, math.hypot(_NOISE, _KERNEL))
    # Monte Carlo spread of the model itself at 5 points: log mean_s N(y | x_s, s^2 I) with
    # x_s = W z_s + b + s_v eps_s, S = 400,000; tolerance 4 standard errors (delta method).
    rs = np.random.RandomState(0)
    y = rs.uniform(size=(5, 4))
    x = rs.normal(size=(400000, 2)) @ w.T + b + _NOISE * rs.normal(size=(400000, 4))
    log_k = stats.norm(0., _KERNEL).logpdf(y[:, None, :] - x[None]).sum(-1)     # [5, S]
    monte_carlo = special.logsumexp(log_k, axis=1) - np.log(len(x))
    ratio = np.exp(log_k - log_k.max(1, keepdims=True))
    stderr = ratio.std(1) / ratio.mean(1) / np.sqrt(len(x))
    self.assertAllClose(monte_carlo, _spread_exact(w, b).logpdf(y), atol=4. * stderr.max())
    # ... and the estimator on the shared spread draws lands on the closed form.
    images = testing.linear_images(300)
    seed = tf.constant([2, 5])
    kernel = spreadtf.GaussianSpread(_KERNEL)
    result = spread_likelihood.spread_log_likelihood(model, images, kernel, seed,
                                                     num_samples=1000)
    observed = likelihood.draw_spread(kernel, images, seed)
    errors = result['estimate']['per_example'] - _spread_exact(w, b).logpdf(
        observed.reshape(300, 4))
    # The VAE's encoder is exact for its own clean posterior, a broader one than under the
    # spread, so IW with K = 1,000 is near exact (0.02 nats: 4 standard errors plus that).
    self.assertNear(errors.mean(), 0., 4. * errors.std(ddof=1) / np.sqrt(300) + 0.02)
    self.assertEqual(result['decoder'], 'GaussianSpread 0.5831')
    self.assertEqual(result['kernel'], 'GaussianSpread 0.3')

  def test_a_delta_vae_is_scored_with_the_kernel_itself(self):
    model, _, _, _ = testing.linear_gaussian_vae(scale=_KERNEL, shift=0.2)
    images = testing.linear_images(20)
    seed = tf.constant([1, 4])
    own = spread_likelihood.spread_log_likelihood(model, images, model.spread, seed,
                                                  num_samples=10)
    # Its own kernel: the same y and the same z as the run's own IW evaluation.
    self.assertAllEqual(
        own['estimate']['per_example'],
        likelihood.importance_weighted_log_likelihood(model, images, 10, seed)['per_example'])
    laplace = spread_likelihood.spread_log_likelihood(model, images, spreadtf.LaplaceSpread(0.2),
                                                      seed, method='ais', num_steps=3,
                                                      num_chains=2, num_leapfrog_steps=2)
    self.assertEqual(laplace['decoder'], 'LaplaceSpread 0.2')
    self.assertTrue(np.isfinite(laplace['log_likelihood']))

  def test_no_closed_form_gives_none_and_the_reason(self):
    model, _, _, _ = _vae()
    result = spread_likelihood.spread_log_likelihood(
        model, testing.linear_images(3), spreadtf.LaplaceSpread(0.2), tf.constant([0, 0]))
    self.assertIsNone(result['log_likelihood'])
    self.assertRegex(result['reason'], 'no closed form for a VAE with GaussianSpread 0.5 '
                     'observation noise under a LaplaceSpread 0.2 kernel')
    with self.assertRaisesRegex(ValueError, 'method'):
      spread_likelihood.spread_log_likelihood(model, testing.linear_images(3),
                                              spreadtf.GaussianSpread(0.2), tf.constant([0, 0]),
                                              method='exact')


class DequantizedLogLikelihoodTest(tf.test.TestCase):

  def test_matches_the_exact_density_of_dequantised_pixels(self):
    # The linear VAE's encoder is the exact posterior for any input, so the IW estimate of
    # log q((k + u) / 256) is exact and the only noise is u's: compare the means over images
    # with an independent draw of u, within 4 standard errors of their difference.
    model, exact, _, _ = _vae()
    levels = np.random.RandomState(3).randint(0, 256, size=(2000,) + testing.LINEAR_SHAPE)
    images = (levels / 255.).astype(np.float32)
    result = spread_likelihood.dequantized_log_likelihood(model, images, tf.constant([0, 9]),
                                                          num_samples=2)
    u = np.random.RandomState(4).uniform(size=levels.shape)
    reference = exact.logpdf(((levels + u) / 256.).reshape(2000, 4)) - 4. * np.log(256.)
    tolerance = 4. * np.hypot(result['stderr'], reference.std(ddof=1) / np.sqrt(2000))
    self.assertNear(result['log_likelihood'], reference.mean(), tolerance)
    self.assertAllClose(result['bits_per_dim'],
                        -result['log_likelihood'] / (4. * np.log(2.)))
    self.assertAllClose(result['bits_per_dim_stderr'], result['stderr'] / (4. * np.log(2.)))

  def test_needs_8_bit_images_and_a_density_on_clean_data(self):
    model, _, _, _ = _vae()
    with self.assertRaisesRegex(ValueError, 'not 8-bit'):
      spread_likelihood.dequantized_log_likelihood(model, testing.linear_images(3),
                                                   tf.constant([0, 0]))
    delta, _, _, _ = testing.linear_gaussian_vae(scale=_KERNEL)
    with self.assertRaisesRegex(ValueError, 'no density on clean data'):
      spread_likelihood.dequantized_log_likelihood(delta, np.zeros((2, 2, 2, 1), np.float32),
                                                   tf.constant([0, 0]))


if __name__ == '__main__':
  tf.test.main()
