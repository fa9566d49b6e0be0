"""Held-out likelihood of a SpreadVAE: the spread ELBO and an importance-weighted log p~(y).

A deterministic generator x = g(z) has no density, but its spread p~(y) = integral K(y - g(z))
N(z | 0, I) dz does, so the likelihood of held-out *spread* data y = x + noise is a real number that
can be estimated like any latent-variable model's (Burda et al. 2016):

    log p~(y) ~= log (1/K) sum_k  K(y - g(z_k)) N(z_k | 0, I) / q(z_k | y),   z_k ~ q(z | y).

The estimate is a stochastic lower bound that rises with K towards log p~(y); K = 1 is the ELBO
in expectation. Both numbers are of data spread with the run's own kernel, so they compare only
between runs with the same spread; the VAE baseline (`spread_data=False`) scores the clean x
under its observation noise instead.

Everything is stateless-seeded: the same seed gives the same numbers.

#### References

[1] Mingtian Zhang, Peter Hayes, Tom Bird, Raza Habib, David Barber. Spread Divergence.
    ICML 2020. https://arxiv.org/abs/1811.08968
[2] Yuri Burda, Roger Grosse, Ruslan Salakhutdinov. Importance Weighted Autoencoders. ICLR 2016.
"""

import math

import keras
import numpy as np
import tensorflow as tf

__all__ = ['LikelihoodEstimate', 'spread_elbo', 'importance_weighted_log_likelihood',
           'bits_per_dim']

_HALF_LOG_TWO_PI = 0.5 * math.log(2. * math.pi)


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


def _batches(images, batch_size):
  for start in range(0, len(images), batch_size):
    yield start, images[start:start + batch_size]


def _progress(total, verbose):
  return keras.utils.Progbar(total, verbose=1 if verbose else 0, unit_name='image')


def _observed(model, x, seed):
  """y: the spread sample of x (or x itself for the VAE baseline, which spreads no data)."""
  return model.spread.sample_spread(x, seed=seed) if model.spread_data else x


def spread_elbo(model, images, seed, batch_size=500, verbose=False):
  """The spread ELBO E_q log K(y - g(z)) - KL(q(z|y) || N(0, I)) of each held-out image.

  y = x + noise is drawn once per image from the run's own spread (the same quantity the
  training loop reports as `test/elbo`); the KL is exact, the reconstruction term uses one z.

  Args:
    model: a built `SpreadVAE`.
    images: float32 `[num, height, width, channels]` in [0, 1].
    seed: stateless seed, int32 `[2]`; batch b uses `fold_in(seed, b)`.
    batch_size: images per call.
    verbose: show a progress bar.

  Returns:
    A `LikelihoodEstimate` in nats per image.
  """
  terms = tf.function(model.per_example_terms)
  progbar = _progress(len(images), verbose)
  values = []
  for i, (start, batch) in enumerate(_batches(images, batch_size)):
    batch_seed = tf.random.experimental.stateless_fold_in(seed, i)
    values.append(terms(tf.constant(batch), batch_seed, training=False)['elbo'].numpy())
    progbar.update(start + len(batch))
  return LikelihoodEstimate.from_values(np.concatenate(values))


def _make_log_weights(model):
  """A compiled `fn(x, seed, num_samples) -> (log_w [K, b], elbo_mc [b])` for one batch."""
  event_ndims = len(model.image_shape)

  @tf.function
  def log_weights(x, seed, num_samples):
    spread_seed, z_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    y = _observed(model, tf.cast(x, model.spread.dtype), spread_seed)
    mean, log_std = model.encode(y)
    batch = tf.shape(mean)[0]
    eps = tf.random.stateless_normal([num_samples, batch, model.latent_dim], seed=z_seed)
    z = mean + tf.exp(log_std) * eps                                       # [K, b, d]
    g = model.decode(tf.reshape(z, [-1, model.latent_dim]))                 # [K * b, ...]
    y_tiled = tf.reshape(tf.tile(y[None], [num_samples] + [1] * (event_ndims + 1)),
                         tf.shape(g))
    log_likelihood = tf.reshape(model.spread.at(g, event_ndims=event_ndims).log_prob(y_tiled),
                                [num_samples, batch])
    latent_dim = float(model.latent_dim)
    log_prior = -0.5 * tf.reduce_sum(tf.square(z), -1) - latent_dim * _HALF_LOG_TWO_PI
    log_posterior = (-0.5 * tf.reduce_sum(tf.square(eps), -1) - tf.reduce_sum(log_std, -1)
                     - latent_dim * _HALF_LOG_TWO_PI)
    return tf.cast(log_likelihood, tf.float32) + log_prior - log_posterior

  return log_weights


def importance_weighted_log_likelihood(model, images, num_samples, seed,
                                       max_decoder_batch=10000, verbose=False):
  """Importance-weighted estimate of log p~(y) for each held-out image, with K = `num_samples`.

  For each image x, one spread sample y ~ K(. | x) is drawn, then K latent codes from q(z | y);
  the estimate is logsumexp_k(log w_k) - log K with
  log w_k = log K(y - g(z_k)) + log N(z_k | 0, I) - log q(z_k | y). It is a lower bound on
  log p~(y) in expectation that tightens as K grows; with K = 1 it is an unbiased estimate of
  the ELBO.

  Args:
    model: a built `SpreadVAE` (its `encode`, `decode`, `spread` and `spread_data` are used).
    images: float32 `[num, height, width, channels]` in [0, 1].
    num_samples: K, importance samples per image (>= 1).
    seed: stateless seed, int32 `[2]`; batch b uses `fold_in(seed, b)`, so the result does not
      depend on `verbose` and is the same on every run.
    max_decoder_batch: decoder evaluations per call (images per call = this // K, at least 1).
    verbose: show a progress bar.

  Returns:
    A `LikelihoodEstimate` (nats per image) whose `stderr` is the standard error over images,
    with extra keys `num_samples` and `elbo` (the mean of log w over the same draws: the
    Monte Carlo ELBO on the same y, for comparison).

  Raises:
    ValueError: if `num_samples` < 1.
  """
  if num_samples < 1:
    raise ValueError(f'num_samples must be >= 1, got {num_samples}.')
  log_weights = _make_log_weights(model)
  batch_size = max(1, max_decoder_batch // num_samples)
  progbar = _progress(len(images), verbose)
  estimates, elbos = [], []
  for i, (start, batch) in enumerate(_batches(images, batch_size)):
    batch_seed = tf.random.experimental.stateless_fold_in(seed, i)
    log_w = log_weights(tf.constant(batch), batch_seed, tf.constant(num_samples)).numpy()
    log_w = log_w.astype(np.float64)
    peak = log_w.max(axis=0)
    estimates.append(peak + np.log(np.mean(np.exp(log_w - peak), axis=0)))
    elbos.append(log_w.mean(axis=0))
    progbar.update(start + len(batch))
  result = LikelihoodEstimate.from_values(np.concatenate(estimates))
  result['num_samples'] = int(num_samples)
  result['elbo'] = float(np.concatenate(elbos).mean())
  return result
