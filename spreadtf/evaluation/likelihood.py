"""Held-out likelihood of a SpreadVAE: the spread ELBO and an importance-weighted log p~(y).

A deterministic generator x = g(z) has no density, but its spread p~(y) = integral K(y - g(z))
N(z | 0, I) dz does, so the likelihood of held-out *spread* data y = x + noise is a real number that
can be estimated like any latent-variable model's (Burda et al. 2016):

    log p~(y) ~= log (1/K) sum_k  K(y - g(z_k)) N(z_k | 0, I) / q(z_k | y),   z_k ~ q(z | y).

The estimate is a stochastic lower bound that rises with K towards log p~(y); K = 1 is the ELBO
in expectation. Both numbers are of data spread with the run's own kernel, so they compare only
between runs with the same spread; the VAE baseline (`spread_data=False`) scores the clean x
under its observation noise instead.

One spread draw per image. `spread_draws(model, images, seed)` draws y_i with a seed folded with
the image's index i, so the ELBO, the IW estimate at every K and AIS (`spreadtf.evaluation.ais`)
called with the same seed score the same y, whatever their batch sizes: their differences are
then paired per image, and their standard errors are those of paired differences. The functions
named `*_of` take the spread data y themselves (simulated data, another kernel's draws).

Everything is stateless-seeded: the same seed gives the same numbers.

#### References

[1] Mingtian Zhang, Peter Hayes, Tom Bird, Raza Habib, David Barber. Spread Divergence.
    ICML 2020. https://arxiv.org/abs/1811.08968
[2] Yuri Burda, Roger Grosse, Ruslan Salakhutdinov. Importance Weighted Autoencoders. ICLR 2016.
"""

import math
import time

import keras
import numpy as np
import tensorflow as tf

from spreadtf.models import spread_vae

__all__ = ['LikelihoodEstimate', 'spread_draws', 'draw_spread', 'elbo_of', 'spread_elbo',
           'importance_weighted_of', 'importance_weighted_log_likelihood',
           'importance_weighted_sweep', 'log_mean_exp', 'effective_sample_size', 'latent_seed',
           'bits_per_dim']

_HALF_LOG_TWO_PI = 0.5 * math.log(2. * math.pi)
_SPREAD_SALT = 0
_LATENT_SALT = 1


class LikelihoodEstimate(dict):
  """`{'mean', 'stderr', 'per_example'}`: a mean over examples and its standard error."""

  @classmethod
  def from_values(cls, values):
    values = np.asarray(values, np.float64)
    stderr = float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else None
    return cls(mean=float(values.mean()), stderr=stderr, per_example=values)


def bits_per_dim(nats, num_dims):
  """Converts a log-likelihood in nats per example to bits per dimension, -nats / (D ln 2)."""
  return -nats / (num_dims * math.log(2.))


def log_mean_exp(log_w, axis=0):
  """log mean exp(log_w) along `axis`, in float64 (NumPy), stable for large |log_w|."""
  log_w = np.asarray(log_w, np.float64)
  peak = log_w.max(axis=axis, keepdims=True)
  return np.squeeze(peak, axis) + np.log(np.mean(np.exp(log_w - peak), axis=axis))


def effective_sample_size(log_w, axis=0):
  """Kish's effective sample size (sum w)^2 / sum w^2 of importance weights, along `axis`.

  Between 1 (one weight dominates) and the number of weights (all equal).
  """
  log_w = np.asarray(log_w, np.float64)
  w = np.exp(log_w - log_w.max(axis=axis, keepdims=True))
  return np.sum(w, axis) ** 2 / np.sum(w * w, axis)


def latent_seed(seed, batch_index):
  """The stateless seed of the latent draws of batch `batch_index` (independent of the spread's)."""
  salted = tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int32), _LATENT_SALT)
  return tf.random.experimental.stateless_fold_in(salted, batch_index)


def _batches(images, batch_size):
  for start in range(0, len(images), batch_size):
    yield start, images[start:start + batch_size]


def _progress(total, verbose):
  return keras.utils.Progbar(total, verbose=1 if verbose else 0, unit_name='image')


def draw_spread(kernel, images, seed, batch_size=1000):
  """y_i ~ K(. | x_i), one draw per image, seeded by `fold_in(fold_in(seed, 0), i)`.

  Args:
    kernel: a spread kernel (`sample_spread(x, seed)`), e.g. `spreadtf.GaussianSpread(0.3)`.
    images: float32 `[num, height, width, channels]`.
    seed: stateless seed, int32 `[2]`.
    batch_size: images per call (the draws do not depend on it).

  Returns:
    float32 NumPy `[num, height, width, channels]`.
  """
  spread_seed = tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int32), _SPREAD_SALT)

  @tf.function
  def draw(x, indices):
    def one(args):
      image, index = args
      image_seed = tf.random.experimental.stateless_fold_in(spread_seed, index)
      return kernel.sample_spread(image[None], seed=image_seed)[0]
    return tf.map_fn(one, (tf.cast(x, kernel.dtype), indices),
                     fn_output_signature=kernel.dtype)

  draws = [draw(tf.constant(batch), tf.range(start, start + len(batch))).numpy()
           for start, batch in _batches(np.asarray(images, np.float32), batch_size)]
  return np.concatenate(draws).astype(np.float32)


def spread_draws(model, images, seed):
  """The held-out spread data y of a model: its own kernel's draws (x itself for the baseline).

  The same (images, seed) give the same y in every estimator of this package (see the module
  docstring).

  Args:
    model: a `SpreadVAE` (`spread`, `spread_data`).
    images: float32 `[num, height, width, channels]` in [0, 1].
    seed: stateless seed, int32 `[2]`.

  Returns:
    float32 NumPy array shaped like `images`.
  """
  if not model.spread_data:
    return np.asarray(images, np.float32)
  return draw_spread(model.spread, images, seed)


def _make_elbo(model):
  """A compiled `fn(y, seed) -> [b]`: log K(y - g(z)) - KL(q(z|y) || N(0, I)), one z ~ q."""
  event_ndims = len(model.image_shape)

  @tf.function
  def elbo(y, seed):
    mean, log_std = model.encode(y)
    eps = tf.random.stateless_normal(tf.shape(mean), seed=seed)
    g = model.decode(mean + tf.exp(log_std) * eps)
    reconstruction = model.spread.at(g, event_ndims=event_ndims).log_prob(
        tf.cast(y, model.spread.dtype))
    return tf.cast(reconstruction, tf.float32) - spread_vae.gaussian_kl(mean, log_std)

  return elbo


def elbo_of(model, observed, seed, batch_size=500, verbose=False):
  """The spread ELBO of each y in `observed` (one z per y, exact KL).

  Args:
    model: a built `SpreadVAE` (or any object with `encode`, `decode`, `spread`, `image_shape`).
    observed: float32 `[num, height, width, channels]`, the spread data y.
    seed: stateless seed, int32 `[2]`; batch b draws z with `latent_seed(seed, b)`.
    batch_size: images per call.
    verbose: show a progress bar.

  Returns:
    A `LikelihoodEstimate` in nats per image.
  """
  elbo = _make_elbo(model)
  progbar = _progress(len(observed), verbose)
  values = []
  for i, (start, batch) in enumerate(_batches(observed, batch_size)):
    values.append(elbo(tf.constant(batch), latent_seed(seed, i)).numpy())
    progbar.update(start + len(batch))
  return LikelihoodEstimate.from_values(np.concatenate(values))


def spread_elbo(model, images, seed, batch_size=500, verbose=False):
  """The spread ELBO E_q log K(y - g(z)) - KL(q(z|y) || N(0, I)) of each held-out image.

  y = `spread_draws(model, images, seed)` (the run's own spread; x itself for the baseline), the
  same y as `importance_weighted_log_likelihood` and AIS with the same seed; the KL is exact, the
  reconstruction term uses one z.

  Args:
    model: a built `SpreadVAE`.
    images: float32 `[num, height, width, channels]` in [0, 1].
    seed: stateless seed, int32 `[2]`.
    batch_size: images per call.
    verbose: show a progress bar.

  Returns:
    A `LikelihoodEstimate` in nats per image.
  """
  return elbo_of(model, spread_draws(model, images, seed), seed, batch_size, verbose)


def _make_log_weights(model):
  """A compiled `fn(y, seed, num_samples) -> log_w [K, b]` for one batch of spread data."""
  event_ndims = len(model.image_shape)

  @tf.function
  def log_weights(y, seed, num_samples):
    mean, log_std = model.encode(y)
    batch = tf.shape(mean)[0]
    eps = tf.random.stateless_normal([num_samples, batch, model.latent_dim], seed=seed)
    z = mean + tf.exp(log_std) * eps                                       # [K, b, d]
    g = model.decode(tf.reshape(z, [-1, model.latent_dim]))                 # [K * b, ...]
    y_tiled = tf.reshape(tf.broadcast_to(tf.cast(y, g.dtype)[None],
                                         tf.concat([[num_samples], tf.shape(y)], 0)), tf.shape(g))
    log_likelihood = tf.reshape(model.spread.at(g, event_ndims=event_ndims).log_prob(y_tiled),
                                [num_samples, batch])
    latent_dim = float(model.latent_dim)
    log_prior = -0.5 * tf.reduce_sum(tf.square(z), -1) - latent_dim * _HALF_LOG_TWO_PI
    log_posterior = (-0.5 * tf.reduce_sum(tf.square(eps), -1) - tf.reduce_sum(log_std, -1)
                     - latent_dim * _HALF_LOG_TWO_PI)
    return tf.cast(log_likelihood, tf.float32) + log_prior - log_posterior

  return log_weights


def importance_weighted_of(model, observed, num_samples, seed, max_decoder_batch=10000,
                           verbose=False):
  """Importance-weighted estimate of log p~(y) for each y in `observed`, K = `num_samples`.

  log w_k = log K(y - g(z_k)) + log N(z_k | 0, I) - log q(z_k | y), z_k ~ q(z | y); the estimate
  is logsumexp_k(log w_k) - log K, a lower bound on log p~(y) in expectation that tightens as K
  grows; with K = 1 it is an unbiased estimate of the ELBO.

  Args:
    model: a built `SpreadVAE` (its `encode`, `decode`, `spread`, `latent_dim`, `image_shape`).
    observed: float32 `[num, height, width, channels]`, the spread data y.
    num_samples: K, importance samples per image (>= 1).
    seed: stateless seed, int32 `[2]`; batch b uses `latent_seed(seed, b)`.
    max_decoder_batch: decoder evaluations per call (images per call = this // K, at least 1).
    verbose: show a progress bar.

  Returns:
    A `LikelihoodEstimate` (nats per image) whose `stderr` is the standard error over images,
    with extra keys `num_samples`, `elbo` (the mean of log w over the same draws: the Monte Carlo
    ELBO on the same y) and `effective_sample_size` (Kish's ESS of the K weights, mean over
    images).

  Raises:
    ValueError: if `num_samples` < 1.
  """
  if num_samples < 1:
    raise ValueError(f'num_samples must be >= 1, got {num_samples}.')
  log_weights = _make_log_weights(model)
  batch_size = max(1, max_decoder_batch // num_samples)
  progbar = _progress(len(observed), verbose)
  estimates, elbos, ess = [], [], []
  for i, (start, batch) in enumerate(_batches(observed, batch_size)):
    log_w = log_weights(tf.constant(batch), latent_seed(seed, i), tf.constant(num_samples))
    log_w = log_w.numpy().astype(np.float64)
    estimates.append(log_mean_exp(log_w))
    elbos.append(log_w.mean(axis=0))
    ess.append(effective_sample_size(log_w))
    progbar.update(start + len(batch))
  result = LikelihoodEstimate.from_values(np.concatenate(estimates))
  result.update(num_samples=int(num_samples), elbo=float(np.concatenate(elbos).mean()),
                effective_sample_size=float(np.concatenate(ess).mean()))
  return result


def importance_weighted_log_likelihood(model, images, num_samples, seed,
                                       max_decoder_batch=10000, verbose=False):
  """Importance-weighted estimate of log p~(y) for each held-out image, with K = `num_samples`.

  y = `spread_draws(model, images, seed)`: the same y as `spread_elbo`, AIS and this function at
  any other K with the same seed. See `importance_weighted_of` for the estimate.

  Args:
    model: a built `SpreadVAE`.
    images: float32 `[num, height, width, channels]` in [0, 1].
    num_samples: K, importance samples per image (>= 1).
    seed: stateless seed, int32 `[2]`; the result does not depend on `verbose` or
      `max_decoder_batch`'s effect on y (only the latent draws follow the batching).
    max_decoder_batch: decoder evaluations per call.
    verbose: show a progress bar.

  Returns:
    See `importance_weighted_of`.

  Raises:
    ValueError: if `num_samples` < 1.
  """
  if num_samples < 1:
    raise ValueError(f'num_samples must be >= 1, got {num_samples}.')
  return importance_weighted_of(model, spread_draws(model, images, seed), num_samples, seed,
                                max_decoder_batch, verbose)


def importance_weighted_sweep(model, images, seed, num_samples=(1, 10, 100, 1000, 5000),
                              max_decoder_batch=10000, verbose=False):
  """The IW estimate at several K on ONE spread draw y per image, with the ELBO on the same y.

  Every K scores the same y (`spread_draws(model, images, seed)`), so the rise from one K to the
  next is a paired difference per image; its standard error over images is much smaller than
  either estimate's.

  Args:
    model: a built `SpreadVAE`.
    images: float32 `[num, height, width, channels]` in [0, 1].
    seed: stateless seed, int32 `[2]`.
    num_samples: the K values, increasing.
    max_decoder_batch: decoder evaluations per call.
    verbose: progress bars.

  Returns:
    `{'elbo': {'mean', 'stderr'}, 'iw': [row per K]}`, each row a dict with `num_samples`,
    `log_likelihood`, `stderr`, `effective_sample_size` (Kish's ESS of the K weights, mean over
    images), `seconds` (wall time of that K, tracing included), and, from the second K on,
    `gain` (the mean paired rise over the previous K) with `gain_stderr`; and `per_example`,
    `{K: float64 [num]}`, each image's estimate at each K (the rows' means).

  Raises:
    ValueError: if `num_samples` is empty, not increasing, or has a K < 1.
  """
  num_samples = [int(k) for k in num_samples]
  if not num_samples or min(num_samples) < 1 or sorted(set(num_samples)) != num_samples:
    raise ValueError(f'num_samples must be increasing positive integers, got {num_samples}.')
  observed = spread_draws(model, images, seed)
  elbo = elbo_of(model, observed, seed, verbose=verbose)
  rows, previous, per_example = [], None, {}
  for k in num_samples:
    start = time.perf_counter()
    estimate = importance_weighted_of(model, observed, k, seed, max_decoder_batch, verbose)
    row = {'num_samples': k, 'log_likelihood': estimate['mean'], 'stderr': estimate['stderr'],
           'effective_sample_size': estimate['effective_sample_size'],
           'seconds': time.perf_counter() - start}
    if previous is not None:
      gain = LikelihoodEstimate.from_values(estimate['per_example'] - previous)
      row.update(gain=gain['mean'], gain_stderr=gain['stderr'])
    previous = per_example[k] = estimate['per_example']
    rows.append(row)
  return {'elbo': {'mean': elbo['mean'], 'stderr': elbo['stderr']}, 'iw': rows,
          'per_example': per_example}
