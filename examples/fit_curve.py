"""Fits an implicit generator to data by gradient descent on a spread divergence.

The model puts all its mass on a curve in 2-d: x = g(z) = (a z, b z^2 + c) with z ~ N(0, 1). It
can be sampled but has no density, so its likelihood, and KL(data || model), do not exist. Spread
data and model by the same Gaussian kernel and they do (Zhang et al. 2020): minimising
`spreadtf.spread_kl(data, model, kernel)` is maximum likelihood of the spread data under the spread
model. The data are points drawn from the same family with (a, b, c) = (1, 1.5, -1).

The data's spread density is exact (a Gaussian mixture over the data points); the model's,
log q~(y), is a log-mean-exp over `--num_inner_samples` model samples, biased downwards for finite
samples, which biases the fit too (examples/README.md has the measurements).

Run from the repository root:

  python examples/fit_curve.py                        # spread KL; writes docs/img/fit_curve.png
  python examples/fit_curve.py --divergence=js --out=/tmp/fit_js.png

The picture shows the data, the initial model and the fitted model. A JSON file next to it
records the settings, the parameters and the divergence before and after fitting.
"""

import argparse
import json
import os

import keras
import matplotlib

matplotlib.use('Agg')
from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top
import tensorflow as tf
import tensorflow_probability as tfp

import spreadtf

tfd = tfp.distributions

TRUTH = (1., 1.5, -1.)     # (a, b, c) of the data.
START = (0.4, 0.3, 0.5)    # (a, b, c) of the model before fitting.


def curve_model(theta):
  """The implicit model x = (a z, b z^2 + c), z ~ N(0, 1), for theta = (a, b, c): no density."""

  def generator(z):  # [n, 1] -> [n, 2]
    return tf.concat([theta[0] * z, theta[1] * z**2 + theta[2]], axis=-1)

  return spreadtf.Pushforward(tfd.MultivariateNormalDiag(tf.zeros([1])), generator, [2])


def fit(divergence_fn, data, steps, learning_rate, seed):
  """Adam on theta, a fresh stateless seed per step. Returns the fitted theta."""
  theta = tf.Variable(START)
  optimizer = keras.optimizers.Adam(learning_rate)

  @tf.function
  def step(step_seed):
    with tf.GradientTape() as tape:
      loss = divergence_fn(data, curve_model(theta), step_seed)
    optimizer.apply_gradients([(tape.gradient(loss, theta), theta)])

  for i in range(steps):
    step(tf.constant([seed, i + 1]))
  return theta.numpy()


def plot(data, start, fitted, title, path, seed):
  """Data (grey rings) and 300 samples of the model before (red) and after (blue) fitting."""
  figure, axes = plt.subplots(figsize=(5, 4))
  axes.scatter(*data.T, s=16, facecolors='none', edgecolors='0.5', linewidths=0.6, label='data')
  for theta, colour, label in ((start, 'tab:red', 'start'), (fitted, 'tab:blue', 'fitted')):
    samples = curve_model(tf.constant(theta)).sample(300, seed=[seed, 1]).numpy()
    axes.scatter(*samples.T, s=3, c=colour, label=f'model, {label}')
  axes.set(xlabel='x1', ylabel='x2', title=title)
  axes.legend(loc='upper center', markerscale=3)
  figure.tight_layout()
  figure.savefig(path, dpi=100)
  plt.close(figure)


def parse_args(argv):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--divergence', choices=['kl', 'js'], default='kl',
                      help='kl: spread_kl(data, model); js: spread Jensen-Shannon divergence.')
  parser.add_argument('--steps', type=int, default=400, help='Adam steps.')
  parser.add_argument('--learning_rate', type=float, default=0.05, help='Adam learning rate.')
  parser.add_argument('--num_data', type=int, default=500, help='Data points.')
  parser.add_argument('--spread', type=float, default=0.2,
                      help='Standard deviation of the Gaussian spread kernel.')
  parser.add_argument('--num_samples', type=int, default=256,
                      help='Outer Monte Carlo samples y per step.')
  parser.add_argument('--num_inner_samples', type=int, default=2048,
                      help='Model samples in the log-mean-exp estimate of log q~(y).')
  parser.add_argument('--seed', type=int, default=0,
                      help='Seed of the data and of every Monte Carlo estimate.')
  parser.add_argument('--out', default='docs/img/fit_curve.png',
                      help='The picture; the JSON goes next to it.')
  return parser.parse_args(argv)


def main(argv=None):
  args = parse_args(argv)
  kernel = spreadtf.GaussianSpread(args.spread)
  sizes = dict(num_samples=args.num_samples, num_inner_samples=args.num_inner_samples)
  if args.divergence == 'kl':
    def divergence_fn(p, q, seed, **overrides):
      return spreadtf.spread_kl(p, q, kernel, seed=seed, **{**sizes, **overrides})
  else:
    def divergence_fn(p, q, seed, **overrides):
      return spreadtf.spread_f_divergence(p, q, kernel, f=spreadtf.jensen_shannon, seed=seed,
                                          **{**sizes, **overrides})

  points = curve_model(tf.constant(TRUTH)).sample(args.num_data, seed=[args.seed, 0])
  data = tfd.Empirical(points, event_ndims=1)
  fitted = fit(divergence_fn, data, args.steps, args.learning_rate, args.seed)

  # Before and after, with the same seed and four times the per-step sample sizes.
  def evaluate(theta):
    value = divergence_fn(data, curve_model(tf.constant(theta)), tf.constant([args.seed, 0]),
                          num_samples=4 * args.num_samples,
                          num_inner_samples=4 * args.num_inner_samples, return_stderr=True)
    return [float(value.value), float(value.stderr)]

  results = dict(divergence=args.divergence, steps=args.steps, spread=args.spread,
                 num_inner_samples=args.num_inner_samples, truth=list(TRUTH),
                 start=list(START), fitted=[float(v) for v in fitted],
                 divergence_start=evaluate(START), divergence_fitted=evaluate(fitted))
  for key, value in results.items():
    print(f'{key:>18s}: {value}')
  os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
  name = {'kl': 'spread KL', 'js': 'spread JS'}[args.divergence]
  plot(points.numpy(), START, fitted,
       f'{name}: {results["divergence_start"][0]:.3g} -> {results["divergence_fitted"][0]:.3g}',
       args.out, args.seed)
  with open(os.path.splitext(args.out)[0] + '.json', 'w') as f:
    json.dump(results, f, indent=1)
  return results


if __name__ == '__main__':
  main()
