"""One likelihood scale across model families: every run scored by log q~(y) on the same y.

A spread kernel K turns any model q(x) into q~(y) = integral K(y - x) q(x) dx, and the spread
divergence compares data and model through exactly these densities. So under a fixed kernel,
every run (a delta-VAE, whatever kernel it trained with, or a VAE baseline with its own
observation noise) can be scored on the same spread data y = x + eps, eps ~ K, drawn once per
held-out image (`likelihood.draw_spread`: the draw's seed is folded with the image index, so every
run sees the same y). The numbers then rank runs of different families on one scale.

For a latent-variable model q(x) = integral q(x | z) N(z | 0, I) dz the spread model is again one,
q~(y) = integral (K * q(. | z))(y) N(z | 0, I) dz, with the decoder the convolution of K with the
model's observation noise around g(z):

  * a delta-VAE (deterministic g, `spread_data=True`): the convolution is K itself, for any kernel
    (its own or another);
  * a VAE with Gaussian noise of scale s_v under a Gaussian kernel of scale s: a Gaussian decoder
    of scale sqrt(s_v^2 + s^2), exactly;
  * any other pair (a Gaussian-noise VAE under a Laplace kernel, a learned or injective kernel):
    no closed form is implemented here, and the score is None with the reason (the report
    leaves the cell empty) rather than an estimate of another quantity. (A Gaussian convolved
    with a Laplace does have a closed form, the normal-Laplace density; it is not implemented.)

The decoder is scored with the model's own encoder as the proposal (IW) or initial distribution
(AIS from the encoder); a VAE's encoder never saw spread data, so its proposal is worse, which
makes the IW bound looser but not wrong; AIS from the prior does not use the encoder at all.

The clean-data likelihood of a VAE baseline is a density of continuous y evaluated at quantised
pixels, which is not a likelihood of the 8-bit data. `dequantized_log_likelihood` gives the
standard one (Theis, van den Oord and Bethge 2016): y = (k + u) / 256 with k = 255 x the 8-bit
value and u ~ U[0, 1)^D, and log P(k) >= E_u[log q((k + u) / 256)] - D log 256, reported in bits
per dimension as the literature does. It needs a density on clean data, so only VAE baselines
have it.

#### References

[1] Mingtian Zhang, Peter Hayes, Tom Bird, Raza Habib, David Barber. Spread Divergence.
    ICML 2020. https://arxiv.org/abs/1811.08968
[2] Lucas Theis, Aaron van den Oord, Matthias Bethge. A note on the evaluation of generative
    models. ICLR 2016.
"""

import dataclasses
import math

import numpy as np
import tensorflow as tf

from spreadtf.evaluation import ais
from spreadtf.evaluation import likelihood
from spreadtf.spreads import kernels

__all__ = ['SpreadModel', 'describe', 'spread_model', 'spread_log_likelihood',
           'spread_log_likelihood_of', 'dequantized_log_likelihood']

_DEQUANTIZATION_SALT = 8
_QUANTIZATION_TOLERANCE = 1e-3   # of one 8-bit level; float32 x = k / 255 is exact to ~1e-5


@dataclasses.dataclass(frozen=True)
class SpreadModel:
  """A model's spread density q~(y) as a latent-variable model the estimators can score.

  Attributes:
    encode: `y -> (mean, log_std)`, the proposal q(z | y).
    decode: `z -> g(z)`, the decoder mean.
    spread: the decoder likelihood of y, a kernel with `at(loc, event_ndims)` (the convolution
      of the scoring kernel with the model's observation noise).
    latent_dim: size of z.
    image_shape: `(height, width, channels)`.
    spread_data: always True (the data it scores are spread).
  """
  encode: object
  decode: object
  spread: object
  latent_dim: int
  image_shape: tuple
  spread_data: bool = True


def describe(kernel):
  """A kernel's class and scale, e.g. 'GaussianSpread 0.5831' (no scale for an array of them)."""
  scale = getattr(kernel, 'scale', None)
  scale = '' if scale is None or np.size(scale) > 1 else f' {float(np.asarray(scale)):.4g}'
  return f'{type(kernel).__name__}{scale}'


def spread_model(model, kernel):
  """The spread density of `model` under `kernel`, or None and why there is no closed form.

  Args:
    model: a built `SpreadVAE`: a delta-VAE (`spread_data=True`, a deterministic generator) or a
      VAE baseline (`spread_data=False`, `model.spread` its observation noise).
    kernel: the scoring kernel, e.g. `spreadtf.GaussianSpread(0.3)`.

  Returns:
    `(SpreadModel, None)`, or `(None, reason)` when the convolution of the model's observation
    noise with `kernel` has no closed form here.
  """
  def view(decoder_kernel):
    return SpreadModel(model.encode, model.decode, decoder_kernel, model.latent_dim,
                       tuple(model.image_shape))

  if model.spread_data:
    return view(kernel), None
  noise = model.spread
  if type(noise) is kernels.GaussianSpread and type(kernel) is kernels.GaussianSpread:
    scale = tf.sqrt(tf.square(tf.convert_to_tensor(noise.scale))
                    + tf.square(tf.convert_to_tensor(kernel.scale)))
    return view(kernels.GaussianSpread(scale)), None
  return None, (f'no closed form for a VAE with {describe(noise)} observation noise under a '
                f'{describe(kernel)} kernel (only Gaussian noise under a Gaussian kernel, and '
                'any kernel for a deterministic generator)')


def _check_method(method):
  if method not in ('iw', 'ais'):
    raise ValueError(f"method must be 'iw' or 'ais', got {method!r}.")


def spread_log_likelihood_of(model, observed, kernel, seed, method='iw', num_samples=1000,
                             max_decoder_batch=10000, **ais_settings):
  """log q~(y) of `model` under `kernel` on spread data y the caller drew (`observed`).

  `spread_log_likelihood` draws y itself; this one takes it, so one draw can be scored by
  several methods (IW on all images, AIS on the first few) and hashed.

  Args:
    model: a built `SpreadVAE` (delta-VAE or VAE baseline).
    observed: float32 `[num, height, width, channels]`, y drawn with `kernel` (e.g.
      `likelihood.draw_spread(kernel, images, seed)`).
    kernel: the scoring kernel.
    seed: stateless seed, int32 `[2]`, of the latent draws (IW batch b uses
      `likelihood.latent_seed(seed, b)`; AIS its own salts).
    method: 'iw' (importance-weighted, K = `num_samples`, proposal q(z | y)) or 'ais'.
    num_samples: K of the IW estimate.
    max_decoder_batch: decoder evaluations per call (IW).
    **ais_settings: `ais.ais_of` settings for `method='ais'` (`num_steps`, `num_chains`, ...).

  Returns:
    As `spread_log_likelihood`.

  Raises:
    ValueError: for another `method`.
  """
  _check_method(method)
  scoring, reason = spread_model(model, kernel)
  result = {'log_likelihood': None, 'stderr': None, 'method': method,
            'kernel': describe(kernel), 'decoder': None, 'reason': reason}
  if scoring is None:
    return result
  if method == 'iw':
    estimate = likelihood.importance_weighted_of(scoring, observed, num_samples, seed,
                                                 max_decoder_batch)
  else:
    estimate = ais.ais_of(scoring, observed, seed, **ais_settings)
  result.update(log_likelihood=estimate['mean'], stderr=estimate['stderr'],
                decoder=describe(scoring.spread), estimate=estimate)
  return result


def spread_log_likelihood(model, images, kernel, seed, method='iw', num_samples=1000,
                          max_decoder_batch=10000, **ais_settings):
  """log q~(y) of `model` on y = x + eps, eps ~ `kernel`: the same y for every model and seed.

  Args:
    model: a built `SpreadVAE` (delta-VAE or VAE baseline).
    images: float32 `[num, height, width, channels]` in [0, 1].
    kernel: the scoring kernel.
    seed: stateless seed, int32 `[2]`; y = `likelihood.draw_spread(kernel, images, seed)`.
    method: 'iw' (importance-weighted, K = `num_samples`, proposal q(z | y)) or 'ais'.
    num_samples: K of the IW estimate.
    max_decoder_batch: decoder evaluations per call.
    **ais_settings: `ais.ais_of` settings for `method='ais'` (`num_steps`, `num_chains`, ...).

  Returns:
    A dict: `log_likelihood` (nats per image, or None), `stderr`, `method`, `kernel` and
    `decoder` (descriptions), `reason` (why it is None, else None), and with a value the
    estimator's own result under `estimate`.

  Raises:
    ValueError: for another `method`.
  """
  _check_method(method)
  if spread_model(model, kernel)[0] is None:   # nothing to score: no draw needed
    observed = None
  else:
    observed = likelihood.draw_spread(kernel, images, seed)
  return spread_log_likelihood_of(model, observed, kernel, seed, method, num_samples,
                                  max_decoder_batch, **ais_settings)


def dequantized_log_likelihood(model, images, seed, num_samples=1000, max_decoder_batch=10000):
  """A VAE baseline's log-likelihood of 8-bit images, uniformly dequantised, in bits per dim.

  y = (k + u) / 256 with k = round(255 x) and u ~ U[0, 1)^D (one draw per image); log q(y) is the
  IW estimate with K = `num_samples`; log P(k) >= log q(y) - D log 256 in expectation over u and
  the IW draws, so the result is a stochastic lower bound on the discrete log-likelihood
  (an upper bound in bits per dimension).

  Args:
    model: a built VAE baseline `SpreadVAE` (`spread_data=False`: `model.spread` is its
      observation noise).
    images: float32 `[num, height, width, channels]`, 8-bit values k / 255.
    seed: stateless seed, int32 `[2]`.
    num_samples: K of the IW estimate.
    max_decoder_batch: decoder evaluations per call.

  Returns:
    A dict: `log_likelihood` and `stderr` (nats per image, of the 8-bit data),
    `bits_per_dim` and `bits_per_dim_stderr`, `num_samples`, and `per_example` (float64
    `[num]`, each image's nats: their mean is `log_likelihood`).

  Raises:
    ValueError: for a delta-VAE (no density on clean data) or images that are not 8-bit.
  """
  if model.spread_data:
    raise ValueError('a delta-VAE has no density on clean data (its generator is deterministic); '
                     'score it on spread data with spread_log_likelihood instead.')
  images = np.asarray(images, np.float32)
  levels = np.round(images * 255.)
  if np.abs(images * 255. - levels).max() > _QUANTIZATION_TOLERANCE or levels.min() < 0. or (
      levels.max() > 255.):
    raise ValueError('images are not 8-bit values k / 255 in [0, 1]; dequantisation needs the '
                     'quantised pixels (e.g. mnist5k, MNIST, CelebA jpgs).')
  base = tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int32), _DEQUANTIZATION_SALT)
  noise = tf.random.stateless_uniform(images.shape, seed=base).numpy()
  observed = ((levels + noise) / 256.).astype(np.float32)
  estimate = likelihood.importance_weighted_of(model, observed, num_samples, seed,
                                               max_decoder_batch)
  num_dims = int(np.prod(images.shape[1:]))
  offset = num_dims * math.log(256.)
  nats = likelihood.LikelihoodEstimate.from_values(estimate['per_example'] - offset)
  per_dim = num_dims * math.log(2.)
  return {'log_likelihood': nats['mean'], 'stderr': nats['stderr'],
          'bits_per_dim': likelihood.bits_per_dim(nats['mean'], num_dims),
          'bits_per_dim_stderr': None if nats['stderr'] is None else nats['stderr'] / per_dim,
          'num_samples': int(num_samples), 'per_example': nats['per_example']}
