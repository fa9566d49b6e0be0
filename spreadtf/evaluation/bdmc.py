"""Bidirectional Monte Carlo (BDMC): AIS bounds from both sides on data simulated from the model.

On a data point y simulated from the model itself, z ~ N(0, I), x = g(z), y ~ K(. | x), the z that
generated y is an exact sample of the posterior p(z | y). That gives two stochastic bounds on the
same log p~(y) (Grosse, Ghahramani and Adams 2015):

  * forward AIS from q0 to the posterior: E[w] = p~(y), so log mean w is a lower bound;
  * reverse AIS from the exact posterior sample back to q0, through the same transitions in the
    reverse order: E[w_rev] = 1 / p~(y), so -log mean w_rev is an upper bound.

The gap between them (nats per image, averaged over simulated images) bounds how far forward AIS
with these settings is from the truth on data like the model's own samples; Wu et al. (2017) use
it to choose the number of AIS steps for real data, where no exact posterior sample exists (and
note that the gap on simulated data can understate the one on real data when the model fits the
data poorly). Both passes use the step sizes of one warm-up pass (`spreadtf.evaluation.ais`).

#### References

[1] Roger Grosse, Zoubin Ghahramani, Ryan P. Adams. Sandwiching the marginal likelihood using
    bidirectional Monte Carlo. arXiv:1511.02543, 2015.
[2] Yuhuai Wu, Yuri Burda, Ruslan Salakhutdinov, Roger Grosse. On the quantitative analysis of
    decoder-based generative models. ICLR 2017.
"""

import time

import keras
import numpy as np
import tensorflow as tf

from spreadtf.evaluation import ais
from spreadtf.evaluation import likelihood

__all__ = ['simulate', 'bdmc']

_SIMULATION_SALT = 4
_TUNING_SALT = 5
_FORWARD_SALT = 6
_REVERSE_SALT = 7


def simulate(model, num, seed):
  """Data from the spread model: z ~ N(0, I), x = g(z), y ~ K(. | x), with the exact posterior z.

  Args:
    model: a built `SpreadVAE` (`sample` is not used: its z is needed), or any object with
      `decode`, `spread` and `latent_dim`.
    num: number of data points.
    seed: stateless seed, int32 `[2]`.

  Returns:
    `(y, z)`: float32 NumPy `[num, height, width, channels]` and `[num, latent_dim]`.
  """
  base = tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int32), _SIMULATION_SALT)
  z_seed, spread_seed = tf.unstack(tf.random.experimental.stateless_split(base, 2))
  z = tf.random.stateless_normal([num, model.latent_dim], seed=z_seed)
  x = tf.function(model.decode)(z)
  y = model.spread.sample_spread(tf.cast(x, model.spread.dtype), seed=spread_seed)
  return tf.cast(y, tf.float32).numpy(), z.numpy()


def _seed(seed, salt, index):
  salted = tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int32), salt)
  return tf.random.experimental.stateless_fold_in(salted, index)


def bdmc(model, num_images, seed, num_steps=300, num_chains=8, num_leapfrog_steps=5,
         initial='encoder', num_reverse_chains=1, num_tuning_chains=4, max_decoder_batch=4000,
         verbose=False):
  """Forward and reverse AIS on `num_images` points simulated from the model: the BDMC gap.

  Args:
    model: a built `SpreadVAE` (see `ais.AnnealedImportanceSampler`).
    num_images: simulated data points.
    seed: stateless seed, int32 `[2]` (simulation, tuning and both passes use salted seeds).
    num_steps: T, intermediate distributions of the sigmoid schedule.
    num_chains: forward chains per image.
    num_leapfrog_steps: leapfrog steps per HMC transition.
    initial: 'prior' or 'encoder' (the q0 both passes start or end at).
    num_reverse_chains: reverse chains per image, all started at the one exact posterior sample
      (Wu et al. 2017 use 1).
    num_tuning_chains: chains per image of the warm-up pass that tunes the step sizes.
    max_decoder_batch: decoder evaluations per call.
    verbose: show a progress bar.

  Returns:
    A dict: `lower` and `upper` (`likelihood.LikelihoodEstimate`s, nats per image: forward and
    reverse AIS), `gap` (mean of upper - lower) and `gap_stderr` (its standard error over images),
    `acceptance_rate` (forward), the settings, and `seconds`.

  Raises:
    ValueError: for a non-positive count or another `initial`.
  """
  for name, value in (('num_images', num_images), ('num_steps', num_steps),
                      ('num_chains', num_chains), ('num_reverse_chains', num_reverse_chains),
                      ('num_tuning_chains', num_tuning_chains)):
    if int(value) != value or value < 1:
      raise ValueError(f'{name} must be a positive integer, got {value}.')
  start = time.perf_counter()
  observed, z_exact = simulate(model, num_images, seed)
  sampler = ais.sampler_for(model, num_leapfrog_steps, initial)
  betas = ais.sigmoid_schedule(num_steps)
  batch_size = max(1, max_decoder_batch // max(num_chains, num_reverse_chains, num_tuning_chains))
  progbar = keras.utils.Progbar(num_images, verbose=1 if verbose else 0, unit_name='image')
  lower, upper, acceptance = [], [], []
  for i, begin in enumerate(range(0, num_images, batch_size)):
    y = observed[begin:begin + batch_size]
    step_sizes = sampler.tune(y, betas, num_tuning_chains, _seed(seed, _TUNING_SALT, i))
    forward = sampler.forward(y, betas, step_sizes, num_chains, _seed(seed, _FORWARD_SALT, i))
    reverse = sampler.reverse(y, z_exact[begin:begin + batch_size], betas, step_sizes,
                              num_reverse_chains, _seed(seed, _REVERSE_SALT, i))
    lower.append(likelihood.log_mean_exp(forward['log_weights']))
    upper.append(-likelihood.log_mean_exp(reverse['log_weights']))
    acceptance.append(forward['acceptance'])
    progbar.update(begin + len(y))
  lower = likelihood.LikelihoodEstimate.from_values(np.concatenate(lower))
  upper = likelihood.LikelihoodEstimate.from_values(np.concatenate(upper))
  gap = likelihood.LikelihoodEstimate.from_values(upper['per_example'] - lower['per_example'])
  acceptance = np.concatenate(acceptance, axis=1)
  return {'lower': lower, 'upper': upper, 'gap': gap['mean'], 'gap_stderr': gap['stderr'],
          'acceptance_rate': float(acceptance.mean()) if acceptance.size else None,
          'num_images': int(num_images), 'num_steps': int(num_steps),
          'num_chains': int(num_chains), 'num_reverse_chains': int(num_reverse_chains),
          'num_leapfrog_steps': int(num_leapfrog_steps), 'initial': initial,
          'seconds': time.perf_counter() - start}
