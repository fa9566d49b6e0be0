"""Tests of bidirectional Monte Carlo on the linear-Gaussian spread model, whose p~(y) is known.

Simulated data y come with the exact posterior sample z that generated them, so forward AIS gives
a stochastic lower bound and reverse AIS from z a stochastic upper bound on the exact log p~(y):
with few steps they must bracket it (by more than their noise), and the gap must close with more
steps.
"""

import functools

import numpy as np
import pytest
import tensorflow as tf

from spreadtf.evaluation import bdmc
from tests import testing

_SCALE = 0.5


@functools.cache
def _linear_model(exact_posterior=False):
  """The linear-Gaussian delta-VAE (spreads its data), built once so tests share its sampler."""
  perturbation = {} if exact_posterior else dict(shift=0.6, std_factor=1.8)
  model, exact, w, b = testing.linear_gaussian_vae(scale=_SCALE, **perturbation)
  return model, exact, w, b


def _truth(exact_posterior, num_images, seed):
  model, exact, _, _ = _linear_model(exact_posterior)
  y, _ = bdmc.simulate(model, num_images, seed)
  return exact.logpdf(y.reshape(num_images, -1))


def _mean_and_stderr(values):
  return values.mean(), values.std(ddof=1) / np.sqrt(len(values))


class SimulateTest(tf.test.TestCase):

  def test_draws_z_from_the_prior_and_y_from_the_kernel_around_g(self):
    model, _, w, b = _linear_model()
    y, z = bdmc.simulate(model, 5000, tf.constant([1, 2]))
    self.assertEqual(y.shape, (5000,) + testing.LINEAR_SHAPE)
    self.assertEqual(z.shape, (5000, testing.LINEAR_LATENT))
    # Moments with 4 standard errors: z ~ N(0, I); y - (W z + b) ~ N(0, s^2 I).
    self.assertAllClose(z.mean(0), np.zeros(2), atol=4. / np.sqrt(5000))
    self.assertAllClose(z.std(0), np.ones(2), atol=4. / np.sqrt(2 * 5000))
    noise = y.reshape(5000, 4) - (z @ w.T + b)
    self.assertAllClose(noise.std(0), np.full(4, _SCALE), atol=4. * _SCALE / np.sqrt(2 * 5000))
    again, _ = bdmc.simulate(model, 5000, tf.constant([1, 2]))
    self.assertAllEqual(again, y)


class BdmcTest(tf.test.TestCase):

  def test_exact_posterior_as_initial_gives_equal_bounds_at_the_truth(self):
    # q0 = p(z | y): every forward and reverse weight is exactly p~(y) and 1 / p~(y).
    seed = tf.constant([0, 3])
    result = bdmc.bdmc(_linear_model(True)[0], 20, seed, num_steps=4, num_chains=2,
                       num_leapfrog_steps=5, initial='encoder', num_reverse_chains=2)
    truth = _truth(True, 20, seed)
    self.assertAllClose(result['lower']['per_example'], truth, atol=2e-4)
    self.assertAllClose(result['upper']['per_example'], truth, atol=2e-4)
    self.assertNear(result['gap'], 0., 1e-4)

  def test_bounds_bracket_the_truth_and_close_with_more_steps(self):
    seed = tf.constant([0, 0])
    model = _linear_model()[0]
    truth = _truth(False, 300, seed)
    gaps = []
    for num_steps in (10, 100):
      result = bdmc.bdmc(model, 300, seed, num_steps=num_steps, num_chains=2,
                         num_leapfrog_steps=5, initial='prior')
      # Each bound minus the truth, paired per image. Measured at T = 10 (prior start, 2
      # chains): lower -0.8, upper +0.8 nats, each with a standard error below 0.1.
      below, below_stderr = _mean_and_stderr(result['lower']['per_example'] - truth)
      above, above_stderr = _mean_and_stderr(result['upper']['per_example'] - truth)
      self.assertLess(below, 3. * below_stderr)
      self.assertGreater(above, -3. * above_stderr)
      if num_steps == 10:
        self.assertLess(below, -3. * below_stderr)
        self.assertGreater(above, 3. * above_stderr)
      gaps.append((result['gap'], result['gap_stderr']))
      self.assertBetween(result['acceptance_rate'], 0.5, 0.8)
    # The gap (measured 1.57 +- 0.10 at T = 10, 0.33 +- 0.04 at T = 100) closes with T.
    self.assertGreater(gaps[0][0] - gaps[1][0], 3. * np.hypot(gaps[0][1], gaps[1][1]))

  @pytest.mark.slow
  def test_gap_closes_at_many_steps(self):
    seed = tf.constant([0, 1])
    truth = _truth(False, 300, seed)
    result = bdmc.bdmc(_linear_model()[0], 300, seed, num_steps=1000, num_chains=2,
                       num_leapfrog_steps=5, initial='prior')
    self.assertLess(result['gap'], 0.1)
    for bound in ('lower', 'upper'):
      error, stderr = _mean_and_stderr(result[bound]['per_example'] - truth)
      self.assertNear(error, 0., 4. * stderr + 0.02)

  def test_rejects_bad_settings(self):
    model = _linear_model()[0]
    for name in ('num_images', 'num_steps', 'num_chains', 'num_reverse_chains',
                 'num_tuning_chains'):
      settings = dict(num_images=2, seed=tf.constant([0, 0]))
      settings[name] = 0
      with self.assertRaisesRegex(ValueError, name):
        bdmc.bdmc(model, **settings)


if __name__ == '__main__':
  tf.test.main()
