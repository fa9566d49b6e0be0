"""Prints closed-form vs Monte Carlo spread KLs, and why both distributions must be spread.

Usage: python launch/divergence_demo.py [--num_samples=20000] [--seed=0]

The second table fits the scale of a model N(0, sigma^2) to data N(0, 1) by gradient descent on
three objectives with a Gaussian spread of scale s: the spread KL(p~ || q~) (both spread) recovers
sigma = 1; spreading only the model, KL(p || q~), gives sigma^2 = 1 - s^2 (too narrow: the model's
own noise is mistaken for data spread); spreading only the data, KL(p~ || q), gives
sigma^2 = 1 + s^2 (too wide: the denoising-VAE situation). Only the two-sided objective is
unbiased.
"""

from absl import app
from absl import flags
import tensorflow as tf
import tensorflow_probability as tfp

import spreadtf

tfd = tfp.distributions
flags.DEFINE_integer('num_samples', 20000, 'Monte Carlo samples per estimate.')
flags.DEFINE_integer('seed', 0, 'Seed of the Monte Carlo estimates.')
FLAGS = flags.FLAGS


def _cases():
  points = tfd.VectorDeterministic
  return [
      ('delta vs delta, Gaussian s=0.8', points([0.3, 0.]), points([1.7, 1.]),
       spreadtf.GaussianSpread(0.8)),
      ('delta vs delta, Laplace b=0.7', points([0.3, 0.]), points([1.7, 1.]),
       spreadtf.LaplaceSpread(0.7)),
      ('N(0,1) vs N(1.5,0.5^2), Gaussian s=1', tfd.Normal(0., 1.), tfd.Normal(1.5, 0.5),
       spreadtf.GaussianSpread(1.)),
      ('MVN vs MVN, Gaussian s=0.5', tfd.MultivariateNormalDiag([0., 0.], [1., 2.]),
       tfd.MultivariateNormalTriL([1., 0.], [[1., 0.], [0.5, 1.]]), spreadtf.GaussianSpread(0.5)),
  ]


def fit_model_scale(objective, steps=300, learning_rate=0.05):
  """Minimises `objective(model)` over the model N(0, sigma^2) by gradient descent on log sigma."""
  log_sigma = tf.Variable(0.5)
  for _ in range(steps):
    with tf.GradientTape() as tape:
      loss = objective(tfd.Normal(0., tf.exp(log_sigma)))
    log_sigma.assign_sub(learning_rate * tape.gradient(loss, log_sigma))
  return float(tf.exp(log_sigma))


def one_sided_fits(spread_scale):
  """sigma fitted to N(0, 1) data under the spread KL and the two one-sided objectives."""
  data = tfd.Normal(0., 1.)
  kernel = spreadtf.GaussianSpread(spread_scale)
  return {
      'both spread, KL(p~ || q~)': fit_model_scale(
          lambda model: spreadtf.spread_kl(data, model, kernel)),
      'model only, KL(p || q~)': fit_model_scale(
          lambda model: tfd.kl_divergence(data, spreadtf.spread(model, kernel))),
      'data only, KL(p~ || q)': fit_model_scale(
          lambda model: tfd.kl_divergence(spreadtf.spread(data, kernel), model)),
  }


def main(argv):
  del argv
  print(f'{"pair":40s} {"closed form":>12s} {"Monte Carlo":>12s} {"+/- stderr":>10s}')
  for i, (name, p, q, kernel) in enumerate(_cases()):
    exact = spreadtf.spread_kl(p, q, kernel, monte_carlo=False)
    mc = spreadtf.spread_kl(p, q, kernel, monte_carlo=True, num_samples=FLAGS.num_samples,
                            seed=tf.constant([FLAGS.seed, i]), return_stderr=True)
    print(f'{name:40s} {float(exact):12.5f} {float(mc.value):12.5f} {float(mc.stderr):10.5f}')
  scale = 0.6
  truth = {'both': 1., 'model': (1. - scale ** 2) ** 0.5, 'data': (1. + scale ** 2) ** 0.5}
  print(f'\nFitting sigma of N(0, sigma^2) to data N(0, 1), Gaussian spread s = {scale}:')
  print(f'{"objective":30s} {"fitted sigma":>12s} {"theory":>8s}')
  for name, sigma in one_sided_fits(scale).items():
    print(f'{name:30s} {sigma:12.4f} {truth[name.split()[0]]:8.4f}')


if __name__ == '__main__':
  app.run(main)
