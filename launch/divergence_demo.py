"""Prints closed-form vs Monte Carlo spread KLs for a few pairs of distributions.

Usage: python launch/divergence_demo.py [--num_samples=20000] [--seed=0]
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


def main(argv):
  del argv
  print(f'{"pair":40s} {"closed form":>12s} {"Monte Carlo":>12s} {"+/- stderr":>10s}')
  for i, (name, p, q, kernel) in enumerate(_cases()):
    exact = spreadtf.spread_kl(p, q, kernel, monte_carlo=False)
    mc = spreadtf.spread_kl(p, q, kernel, monte_carlo=True, num_samples=FLAGS.num_samples,
                            seed=tf.constant([FLAGS.seed, i]), return_stderr=True)
    print(f'{name:40s} {float(exact):12.5f} {float(mc.value):12.5f} {float(mc.stderr):10.5f}')


if __name__ == '__main__':
  app.run(main)
