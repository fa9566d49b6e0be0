"""Measures the bias of the Monte Carlo spread density of an implicit model, against a closed form.

`spreadtf.spread_kl(p, q, kernel)` is exact when both spread distributions have closed forms
(point masses, empirical data, Gaussians under a Gaussian kernel). For an implicit model q (a
`Pushforward`), log q~(y) is a log-mean-exp over S model samples,

    log q~(y) ~= log (1/S) sum_s K(y - x_s),   x_s ~ q,

which is biased downwards for finite S (Jensen: E[log mean] <= log E[mean]); the spread KL
estimate, mean over y of log p~(y) - log q~(y), is therefore biased upwards by the same amount.
To first order the bias is Var[K(y - x)] / (2 S q~(y)^2): it shrinks like 1/S, and it is larger
for narrow kernels, whose K(y - x_s) is large for few samples.

Here q is a line in 2-d, x = (z, 2 z) with z ~ N(0, 1): an implicit model (no density), yet its
spread under a Gaussian kernel is Gaussian, N(0, v v^T + s^2 I) with v = (1, 2), so the exact
log q~(y) is known. The bias is measured at points y ~ p~, with p a Gaussian, over several seeds.

Run from the repository root:

  python examples/mc_bias.py
"""

import argparse
import json

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

import spreadtf

tfd = tfp.distributions

DIRECTION = (1., 2.)     # The model's line.


def measure(scale, sizes, num_points, repeats, seed):
  """Prints and returns the bias of the spread KL estimate for each S in `sizes`."""
  kernel = spreadtf.GaussianSpread(scale)
  direction = tf.constant([DIRECTION])                                       # [1, 2]
  model = spreadtf.Pushforward(tfd.MultivariateNormalDiag(tf.zeros([1])),
                               lambda z: z * direction, [2])
  covariance = tf.matmul(direction, direction, transpose_a=True) + scale**2 * tf.eye(2)
  exact_model_spread = tfd.MultivariateNormalTriL(tf.zeros([2]), tf.linalg.cholesky(covariance))
  data = tfd.MultivariateNormalTriL([0.5, 0.], [[1., 0.], [1.5, 0.5]])       # a thick line
  y = spreadtf.spread(data, kernel).sample(num_points, seed=[seed, 0])
  exact = exact_model_spread.log_prob(y)
  kl = float(tf.reduce_mean(spreadtf.spread(data, kernel).log_prob(y) - exact))

  print(f'\nspread s = {scale}: exact spread KL(p~ || q~) at these points {kl:.4f} nats')
  print(f'{"S":>6s} {"bias of the KL estimate":>24s} {"+/- stderr":>10s} {"S * bias":>9s}')
  rows = []
  for size in sizes:
    # The same points y for every S; only the model samples change between repeats.
    biases = [float(tf.reduce_mean(exact - spreadtf.spread(
        model, kernel, num_samples=size, seed=[seed, size * 1000 + r]).log_prob(y)))
              for r in range(repeats)]
    bias, stderr = np.mean(biases), np.std(biases, ddof=1) / np.sqrt(repeats)
    rows.append(dict(num_inner_samples=size, bias=bias, stderr=stderr))
    print(f'{size:6d} {bias:24.4f} {stderr:10.4f} {size * bias:9.2f}')
  return dict(spread=scale, exact_kl=kl, rows=rows)


def parse_args(argv):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--spread', type=float, nargs='+', default=[0.1, 0.3],
                      help='Standard deviations of the Gaussian spread kernel.')
  parser.add_argument('--num_inner_samples', type=int, nargs='+',
                      default=[4, 16, 64, 256, 1024, 4096],
                      help='Values of S, the model samples per log-mean-exp.')
  parser.add_argument('--num_points', type=int, default=1000,
                      help='Points y ~ p~ at which log q~(y) is estimated.')
  parser.add_argument('--repeats', type=int, default=20,
                      help='Independent sets of model samples per S.')
  parser.add_argument('--seed', type=int, default=0,
                      help='Seed of the points and of the model samples.')
  parser.add_argument('--out', default='', help='Optional JSON file for the tables.')
  return parser.parse_args(argv)


def main(argv=None):
  args = parse_args(argv)
  tables = [measure(scale, args.num_inner_samples, args.num_points, args.repeats, args.seed)
            for scale in args.spread]
  if args.out:
    with open(args.out, 'w') as f:
      json.dump(tables, f, indent=1)
  return tables


if __name__ == '__main__':
  main()
