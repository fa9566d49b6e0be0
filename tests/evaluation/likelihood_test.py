"""Tests of the held-out spread ELBO and the importance-weighted log-likelihood.

A linear decoder g(z) = W z + b with a Gaussian kernel of scale s has the exact spread density
p~(y) = N(y | b, W W^T + s^2 I), and with orthogonal columns of W its posterior is diagonal, so an
encoder can be made exact: then every importance weight equals p~(y) and the estimate is exact
for any K. A perturbed encoder shows the bound rising with K towards that exact value.
"""

import numpy as np
import tensorflow as tf

from spreadtf.evaluation import likelihood
from tests import testing

_D = 4
_SCALE = 0.5


def _posterior_kl(shift, std_factor):
  """KL(q || p(z|x)) of the perturbed encoder: the gap between log p(x) and the ELBO."""
  posterior_var = testing.linear_posterior_variance(_SCALE)
  return float(np.sum(-np.log(std_factor) + (std_factor ** 2 * posterior_var + shift ** 2)
                      / (2. * posterior_var) - 0.5))


def _model(spread_data, **perturbation):
  return testing.linear_gaussian_vae(spread_data=spread_data, scale=_SCALE, **perturbation)


def _data(num, seed=1):
  return testing.linear_images(num, seed)


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
    z = np.random.RandomState(2).normal(size=(4000, testing.LINEAR_LATENT))
    x = (z @ w.T + b).reshape((-1,) + testing.LINEAR_SHAPE).astype(np.float32)
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

  def test_spread_draws_depend_on_the_image_index_not_the_batch(self):
    model, _, _, _ = _model(spread_data=True)
    x = _data(30)
    seed = tf.constant([4, 2])
    y = likelihood.spread_draws(model, x, seed)
    self.assertAllEqual(likelihood.spread_draws(model, x[:7], seed), y[:7])
    self.assertAllEqual(likelihood.draw_spread(model.spread, x, seed, batch_size=4), y)
    # The kernel's noise: y - x ~ N(0, 0.5^2) per pixel (4 sigma of the std's estimate).
    noise = (y - x).ravel()
    self.assertNear(noise.std(), _SCALE, 4. * _SCALE / np.sqrt(2. * noise.size))
    self.assertNotAllClose(likelihood.spread_draws(model, x, tf.constant([4, 3])), y)
    baseline, _, _, _ = _model(spread_data=False)
    self.assertAllEqual(likelihood.spread_draws(baseline, x, seed), x)

  def test_elbo_iw_and_their_sweep_score_the_same_spread_draws(self):
    model, _, _, _ = _model(spread_data=True, shift=0.6, std_factor=1.8)
    x = _data(300)
    seed = tf.constant([8, 1])
    sweep = likelihood.importance_weighted_sweep(model, x, seed, num_samples=(1, 10, 100))
    elbo = likelihood.spread_elbo(model, x, seed)
    iw = likelihood.importance_weighted_log_likelihood(model, x, 10, seed)
    self.assertEqual(sweep['elbo']['mean'], elbo['mean'])        # the same y and the same z
    self.assertEqual(sweep['iw'][1]['log_likelihood'], iw['mean'])
    rows = sweep['iw']
    self.assertEqual([row['num_samples'] for row in rows], [1, 10, 100])
    # On the same y, IW(K) - ELBO and IW(K) - IW(K') are paired differences: their standard
    # errors are the per-image spread of the difference, far below either estimate's.
    for row in rows[1:]:
      self.assertGreater(row['log_likelihood'], sweep['elbo']['mean'])
      self.assertGreater(row['gain'], 3. * row['gain_stderr'])
      self.assertGreater(row['effective_sample_size'], 1.)
      self.assertLessEqual(row['effective_sample_size'], row['num_samples'])
      self.assertGreater(row['seconds'], 0.)
    self.assertEqual(rows[0]['effective_sample_size'], 1.)
    # K = 1 is the ELBO in expectation: the ELBO's KL is exact, IW(1)'s is one draw.
    self.assertNear(rows[0]['log_likelihood'], sweep['elbo']['mean'],
                    4. * np.hypot(rows[0]['stderr'], sweep['elbo']['stderr']))

  def test_sweep_needs_increasing_positive_k(self):
    model, _, _, _ = _model(spread_data=True)
    for bad in ((), (10, 1), (0, 1), (5, 5)):
      with self.assertRaisesRegex(ValueError, 'increasing positive'):
        likelihood.importance_weighted_sweep(model, _data(2), tf.constant([0, 0]), bad)

  def test_effective_sample_size_and_log_mean_exp(self):
    self.assertAllClose(likelihood.effective_sample_size(np.zeros([5, 3])), [5., 5., 5.])
    self.assertAllClose(likelihood.effective_sample_size(np.array([0., -1e4])), 1.)
    log_w = np.array([[1000., 0.], [1000. + np.log(3.), np.log(3.)]])
    self.assertAllClose(likelihood.log_mean_exp(log_w), np.log(2.) + np.array([1000., 0.]))

  def test_bits_per_dim(self):
    self.assertAllClose(likelihood.bits_per_dim(-784. * np.log(2.), 784), 1.)


if __name__ == '__main__':
  tf.test.main()
