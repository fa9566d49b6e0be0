"""Annealed importance sampling (AIS) of the spread likelihood log p~(y) of a SpreadVAE.

The spread likelihood p~(y) = integral K(y - g(z)) N(z | 0, I) dz is the normalising constant of
the unnormalised posterior p(z) K(y - g(z)). AIS (Neal 2001) reaches it through a sequence of
distributions on the geometric path from a normalised initial distribution q0(z),

    f_b(z) = q0(z)^(1 - b) (p(z) K(y - g(z)))^b = q0(z) exp(b h(z)),
    h(z) = log p(z) + log K(y - g(z)) - log q0(z),

for b = b_0 = 0 < b_1 < ... < b_T = 1. A chain starts at z_0 ~ q0, moves at each b_t with an MCMC
transition that leaves f_{b_t} invariant (here Hamiltonian Monte Carlo, `tfp.mcmc.
HamiltonianMonteCarlo`), and accumulates log w = sum_t (b_t - b_(t-1)) h(z_(t-1)). E[w] = p~(y)
exactly, so log mean_c w_c over C chains is a stochastic lower bound on log p~(y) (Jensen) whose
gap closes as T grows. q0 is the prior N(0, I) (`initial='prior'`, the choice of Wu et al. 2017)
or the encoder's q(z | y) (`initial='encoder'`: AIS then starts from the IW proposal, and T = 1
with C chains is the IW estimate with K = C).

Choices, and why:

  * **Own annealing loop around TFP's HMC kernel**, not `tfp.mcmc.sample_annealed_importance_chain`
    (TFP 0.25). That driver (i) hands each new temperature's kernel the previous temperature's
    kernel results, so HMC starts its leapfrog from the cached gradient and scores its
    Metropolis-Hastings test against the cached log density of the *previous* temperature: the
    transition is then not f_b-invariant and the weights are biased (`tests/evaluation/
    ais_test.py` shows it on a linear-Gaussian model); (ii) has only the linear schedule
    b_t = t / T, which spends most steps near b = 1 while a likelihood of a few hundred nats
    changes the posterior fastest near b = 0; (iii) has no way to give each temperature its own
    step size. Here the loop carries h and its gradient at the current state and rebuilds the
    kernel results at every temperature (h is recovered from HMC's own evaluation as
    h = (log f_b - log q0) / b, so no extra network pass is needed; the float32 rounding this
    divides by b is multiplied by b_(t+1) - b_t when used: with the exact posterior as q0, where
    every weight must equal p~(y), the whole bookkeeping is exact to 2e-4 nats in the tests).
  * **Sigmoid schedule** (Grosse et al. 2015, Wu et al. 2017, radius 4): dense near both ends.
  * **Step sizes tuned on a warm-up pass, then frozen.** Adapting the step size from the chains'
    own acceptances *during* the estimate makes each transition depend on the chain's past, and
    the AIS weights are then no longer unbiased (why `tfp.mcmc.SimpleStepSizeAdaptation` is not
    valid inside AIS). A separate warm-up AIS pass (own seed, `num_tuning_chains` chains) adapts
    one step size per image and temperature by s <- s exp(a - 0.65) after each transition (a:
    that image's mean acceptance probability over its chains; 0.65 is the usual HMC target),
    then corrects each recorded size once by the same rule for the acceptance it produced. The
    estimate pass uses that table as a fixed, per-image schedule: every transition is a fixed
    f_b-invariant kernel, and reverse AIS (BDMC) runs the same kernels in the reverse order.
    The price is the warm-up pass (`num_tuning_chains / num_chains` of the estimate's cost).

Batched over images and chains: the state is `[chains, images, latent_dim]`, and the decoder sees
`chains x images` codes per call. Everything is stateless-seeded.

#### References

[1] Radford M. Neal. Annealed importance sampling. Statistics and Computing 11, 2001.
[2] Roger Grosse, Zoubin Ghahramani, Ryan P. Adams. Sandwiching the marginal likelihood using
    bidirectional Monte Carlo. arXiv:1511.02543, 2015.
[3] Yuhuai Wu, Yuri Burda, Ruslan Salakhutdinov, Roger Grosse. On the quantitative analysis of
    decoder-based generative models. ICLR 2017.
"""

import functools
import math
import time

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from spreadtf.evaluation import likelihood

__all__ = ['INITIAL_DISTRIBUTIONS', 'sigmoid_schedule', 'AnnealedImportanceSampler', 'sampler_for',
           'ais_of', 'ais_log_likelihood']

INITIAL_DISTRIBUTIONS = ('prior', 'encoder')
_HALF_LOG_TWO_PI = 0.5 * math.log(2. * math.pi)
_TUNING_SALT = 2
_CHAIN_SALT = 3
_MIN_STEP_SIZE, _MAX_STEP_SIZE = 1e-4, 1.5


def sigmoid_schedule(num_steps, radius=4.):
  """Inverse temperatures b_0 = 0 < ... < b_T = 1 of the sigmoid schedule (Grosse et al. 2015).

  b_t = (s(r (2t/T - 1)) - s(-r)) / (s(r) - s(-r)) with s the logistic sigmoid: dense near 0 and 1.

  Args:
    num_steps: T >= 1, the number of intermediate distributions (b_1..b_T).
    radius: r > 0; larger puts more of them near the ends.

  Returns:
    float64 NumPy `[T + 1]`.

  Raises:
    ValueError: if `num_steps` < 1 or `radius` <= 0.
  """
  if int(num_steps) != num_steps or num_steps < 1:
    raise ValueError(f'num_steps must be a positive integer, got {num_steps}.')
  if not radius > 0.:
    raise ValueError(f'radius must be positive, got {radius}.')
  t = np.linspace(-radius, radius, int(num_steps) + 1)
  sigmoid = 1. / (1. + np.exp(-t))
  betas = (sigmoid - sigmoid[0]) / (sigmoid[-1] - sigmoid[0])
  betas[0], betas[-1] = 0., 1.
  return betas


def _batch_seed(seed, salt, index):
  salted = tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int32), salt)
  return tf.random.experimental.stateless_fold_in(salted, index)


class AnnealedImportanceSampler:
  """Forward AIS, reverse AIS and step-size tuning for one model, compiled once.

  The model is anything with `encode(y) -> (mean, log_std)`, `decode(z)`, `spread` (the decoder
  likelihood K(y | g(z)) through `spread.at(g, event_ndims).log_prob(y)`), `latent_dim` and
  `image_shape` (a `SpreadVAE`, or `spreadtf.evaluation.spread_likelihood`'s views of one).
  Every method works on one batch of spread data y `[images, height, width, channels]`.
  """

  def __init__(self, model, num_leapfrog_steps=5, initial='encoder', target_acceptance=0.65):
    """Builds the sampler.

    Args:
      model: see the class docstring.
      num_leapfrog_steps: leapfrog steps per HMC transition (>= 1).
      initial: 'prior' (q0 = N(0, I)) or 'encoder' (q0 = q(z | y)).
      target_acceptance: acceptance probability the warm-up tunes the step sizes to.

    Raises:
      ValueError: for another `initial`, `num_leapfrog_steps` < 1 or a target outside (0, 1).
    """
    if initial not in INITIAL_DISTRIBUTIONS:
      raise ValueError(f'initial must be one of {INITIAL_DISTRIBUTIONS}, got {initial!r}.')
    if int(num_leapfrog_steps) != num_leapfrog_steps or num_leapfrog_steps < 1:
      raise ValueError(f'num_leapfrog_steps must be a positive integer, got {num_leapfrog_steps}.')
    if not 0. < target_acceptance < 1.:
      raise ValueError(f'target_acceptance must be in (0, 1), got {target_acceptance}.')
    self.model = model
    self.num_leapfrog_steps = int(num_leapfrog_steps)
    self.initial = initial
    self.target_acceptance = float(target_acceptance)
    # One trace for every batch size, chain count and schedule length: tracing the loop around
    # HMC costs seconds, and tuning, forward and reverse passes then share the graph.
    images = tf.TensorSpec([None, *model.image_shape], tf.float32)
    codes = tf.TensorSpec([None, model.latent_dim], tf.float32)
    self._anneal = tf.function(self._anneal_batch, input_signature=[
        images, codes, codes, tf.TensorSpec([None, None, model.latent_dim], tf.float32),
        tf.TensorSpec([None], tf.float32), tf.TensorSpec([None, None], tf.float32),
        tf.TensorSpec([2], tf.int32), tf.TensorSpec([], tf.bool)])
    self._initial_distribution = tf.function(self._initial_batch, input_signature=[images])

  def _initial_batch(self, y):
    """(mean, log_std) `[images, latent_dim]` of q0."""
    if self.initial == 'encoder':
      return self.model.encode(y)
    zeros = tf.zeros([tf.shape(y)[0], self.model.latent_dim])
    return zeros, zeros

  def _log_joint(self, z, y):
    """log N(z | 0, I) + log K(y - g(z)) for z `[chains, images, d]`; returns `[chains, images]`."""
    model = self.model
    chains_images = tf.shape(z)[:2]
    g = model.decode(tf.reshape(z, [-1, model.latent_dim]))
    y_tiled = tf.reshape(tf.broadcast_to(tf.cast(y, g.dtype)[None],
                                         tf.concat([chains_images[:1], tf.shape(y)], 0)),
                         tf.shape(g))
    log_kernel = model.spread.at(g, event_ndims=len(model.image_shape)).log_prob(y_tiled)
    log_prior = (-0.5 * tf.reduce_sum(tf.square(z), -1)
                 - model.latent_dim * _HALF_LOG_TWO_PI)
    return tf.reshape(tf.cast(log_kernel, tf.float32), chains_images) + log_prior

  def _anneal_batch(self, y, mean, log_std, z0, betas, step_sizes, seed, adapt):
    """Runs AIS along `betas` (in the order given) from `z0` `[chains, images, d]`.

    Transition t = 1..T-1 targets f_(betas[t]) with step size `step_sizes[t - 1]` `[images]`;
    with `adapt` (a boolean tensor, so tuning and estimating share one compiled graph) row 0 is
    the initial size and the rest follow the adaptation rule.
    """
    latent_dim = float(self.model.latent_dim)
    std = tf.exp(log_std)
    num_steps = tf.shape(betas)[0] - 1

    def log_initial(z):
      return (tf.reduce_sum(-0.5 * tf.square((z - mean) / std) - log_std, -1)
              - latent_dim * _HALF_LOG_TWO_PI)

    def log_ratio(z):
      return self._log_joint(z, y) - log_initial(z)

    def kernel(beta, step_size):
      return tfp.mcmc.HamiltonianMonteCarlo(
          lambda z: log_initial(z) + beta * log_ratio(z), step_size=step_size[None, :, None],
          num_leapfrog_steps=self.num_leapfrog_steps)

    def cached_at(results, z, h, grad_h, beta):
      """HMC results whose cached log density and gradient are those of z under f_beta."""
      accepted = results.accepted_results._replace(
          target_log_prob=log_initial(z) + beta * h,
          grads_target_log_prob=[-(z - mean) / tf.square(std) + beta * grad_h])
      return results._replace(accepted_results=accepted)

    h, grad_h = tfp.math.value_and_gradient(log_ratio, z0)
    results = cached_at(kernel(betas[1], step_sizes[0]).bootstrap_results(z0), z0, h, grad_h,
                        betas[1])
    log_w = (betas[1] - betas[0]) * h

    def body(t, z, h, grad_h, log_w, results, step_size, acceptances, sizes):
      beta = betas[t]
      size = tf.where(adapt, step_size, step_sizes[t - 1])
      z, results = kernel(beta, size).one_step(
          z, results, seed=tf.random.experimental.stateless_fold_in(seed, t))
      accepted = results.accepted_results
      h = (accepted.target_log_prob - log_initial(z)) / beta
      grad_h = (accepted.grads_target_log_prob[0] + (z - mean) / tf.square(std)) / beta
      log_w += (betas[t + 1] - beta) * h
      ratio = results.log_accept_ratio
      acceptance = tf.reduce_mean(
          tf.where(tf.math.is_nan(ratio), 0., tf.exp(tf.minimum(ratio, 0.))), 0)
      step_size = tf.where(adapt, self._adapted(size, acceptance), size)
      return (t + 1, z, h, grad_h, log_w, cached_at(results, z, h, grad_h, betas[t + 1]),
              step_size, acceptances.write(t - 1, acceptance), sizes.write(t - 1, size))

    num_transitions = num_steps - 1
    loop = tf.while_loop(
        lambda t, *_: t < num_steps, body,
        (tf.constant(1), z0, h, grad_h, log_w, results, step_sizes[0],
         tf.TensorArray(tf.float32, num_transitions, element_shape=step_sizes.shape[1:]),
         tf.TensorArray(tf.float32, num_transitions, element_shape=step_sizes.shape[1:])))

    def stacked(array):   # an empty list of unknown element shape cannot be stacked
      return tf.cond(num_transitions > 0, array.stack, lambda: tf.zeros([0, tf.shape(y)[0]]))

    return {'log_weights': loop[4], 'acceptance': stacked(loop[7]), 'step_sizes': stacked(loop[8])}

  def _adapted(self, step_size, acceptance):
    return tf.clip_by_value(step_size * tf.exp(acceptance - self.target_acceptance),
                            _MIN_STEP_SIZE, _MAX_STEP_SIZE)

  def _start(self, y, num_chains, seed):
    mean, log_std = self._initial_distribution(y)
    eps = tf.random.stateless_normal(tf.concat([[num_chains], tf.shape(mean)], 0), seed=seed)
    return mean, log_std, mean + tf.exp(log_std) * eps

  def tune(self, y, betas, num_chains, seed):
    """Per-image step sizes for each transition, from one adaptive warm-up pass.

    Args:
      y: float32 `[images, height, width, channels]`.
      betas: the forward schedule, float `[T + 1]` from 0 to 1.
      num_chains: warm-up chains per image.
      seed: stateless seed, int32 `[2]`.

    Returns:
      float32 NumPy `[T - 1, images]`: the step size of transition t = 1..T-1 (row t - 1).
    """
    betas = tf.constant(betas, tf.float32)
    num_images = len(y)
    if len(betas) < 3:                                     # T = 1: no transition to tune
      return np.zeros([0, num_images], np.float32)
    start_seed, chain_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    y = tf.constant(y, tf.float32)
    mean, log_std, z0 = self._start(y, num_chains, start_seed)
    # Half the initial scale of q0 (0.5 for the prior), per image.
    initial = 0.5 * tf.exp(tf.reduce_mean(log_std, -1))
    table = tf.broadcast_to(initial[None], [len(betas) - 2, num_images])
    out = self._anneal(y, mean, log_std, z0, betas, table, chain_seed, tf.constant(True))
    return self._adapted(out['step_sizes'], out['acceptance']).numpy()

  def forward(self, y, betas, step_sizes, num_chains, seed):
    """Forward AIS from q0 to the posterior: a stochastic lower bound on log p~(y).

    Args:
      y: float32 `[images, height, width, channels]`.
      betas: the schedule, float `[T + 1]` from 0 to 1.
      step_sizes: float `[T - 1, images]` from `tune`.
      num_chains: chains per image.
      seed: stateless seed, int32 `[2]`.

    Returns:
      `{'log_weights': [chains, images], 'acceptance': [T - 1, images]}` NumPy arrays
      (acceptance: the mean acceptance probability over chains of each transition).
    """
    start_seed, chain_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    y = tf.constant(y, tf.float32)
    mean, log_std, z0 = self._start(y, num_chains, start_seed)
    out = self._anneal(y, mean, log_std, z0, tf.constant(betas, tf.float32),
                       self._table(step_sizes, len(y)), chain_seed, tf.constant(False))
    return {'log_weights': out['log_weights'].numpy(), 'acceptance': out['acceptance'].numpy()}

  def reverse(self, y, z_exact, betas, step_sizes, num_chains, seed):
    """Reverse AIS from exact posterior samples back to q0: a stochastic upper bound.

    E[exp(log w)] = 1 / p~(y) when `z_exact` is an exact sample of p(z | y), so
    -log mean_c exp(log w_c) is an upper bound on log p~(y) in expectation (Grosse et al. 2015).
    Runs the forward pass's transitions in the reverse order (`betas` and `step_sizes` are given
    in the forward order).

    Args:
      y: float32 `[images, height, width, channels]`.
      z_exact: float32 `[images, latent_dim]`, one exact posterior sample per image (the z that
        generated y, for simulated data); every chain starts from it.
      betas: the forward schedule, float `[T + 1]` from 0 to 1.
      step_sizes: float `[T - 1, images]` from `tune`, forward order.
      num_chains: chains per image.
      seed: stateless seed, int32 `[2]`.

    Returns:
      `{'log_weights': [chains, images], 'acceptance': [T - 1, images]}` (reverse order).
    """
    y = tf.constant(y, tf.float32)
    mean, log_std = self._initial_distribution(y)
    z0 = tf.broadcast_to(tf.constant(z_exact, tf.float32)[None],
                         [num_chains, len(z_exact), self.model.latent_dim])
    table = self._table(np.asarray(step_sizes)[::-1], len(z_exact))
    out = self._anneal(y, mean, log_std, z0, tf.constant(np.asarray(betas)[::-1], tf.float32),
                       table, tf.cast(seed, tf.int32), tf.constant(False))
    return {'log_weights': out['log_weights'].numpy(), 'acceptance': out['acceptance'].numpy()}

  @staticmethod
  def _table(step_sizes, num_images):
    """The step-size table with at least one row (the loop reads row 0 even with no transition)."""
    step_sizes = np.asarray(step_sizes, np.float32).reshape([-1, num_images])
    if not len(step_sizes):
      step_sizes = np.ones([1, num_images], np.float32)
    return tf.constant(step_sizes)


@functools.lru_cache(maxsize=8)
def sampler_for(model, num_leapfrog_steps=5, initial='encoder'):
  """The model's `AnnealedImportanceSampler` with these settings, reused across calls.

  Tracing the annealing loop costs seconds, so `ais_of` and `bdmc.bdmc` share one compiled sampler
  per (model, settings); the last 8 are kept. Each sampler reads the model's variables when it
  runs, so changed weights are seen.
  """
  return AnnealedImportanceSampler(model, num_leapfrog_steps, initial)


def _check_config(num_steps, num_chains, num_tuning_chains):
  for name, value in (('num_steps', num_steps), ('num_chains', num_chains),
                      ('num_tuning_chains', num_tuning_chains)):
    if int(value) != value or value < 1:
      raise ValueError(f'{name} must be a positive integer, got {value}.')


def ais_of(model, observed, seed, num_steps=300, num_chains=8, num_leapfrog_steps=5,
           initial='encoder', num_tuning_chains=4, max_decoder_batch=4000, verbose=False):
  """AIS estimate of log p~(y) for each y in `observed`, with its standard error over images.

  For each batch of images: a warm-up pass tunes the step sizes (`num_tuning_chains` chains per
  image, its own seed), then `num_chains` chains run AIS with those sizes frozen; an image's
  estimate is log mean_c exp(log w_c) over its chains.

  The defaults (T = 300 from the encoder, 8 chains, 5 leapfrog steps) are what the MNIST MLP
  delta-VAE on mnist5k needs: its BDMC gap is 0.2 nats per image there (0.05 at T = 1,000; from
  the prior T = 300 leaves 2.2 nats; docs/evaluation.md has the measurements). What its 1,000
  held-out digits cost: docs/results.md, "Evaluation costs".

  Args:
    model: a built `SpreadVAE` (see `AnnealedImportanceSampler` for what is used).
    observed: float32 `[num, height, width, channels]`, the spread data y.
    seed: stateless seed, int32 `[2]`; batch b tunes with `fold_in(fold_in(seed, 2), b)` and
      runs with `fold_in(fold_in(seed, 3), b)`.
    num_steps: T, the number of intermediate distributions (sigmoid schedule); T - 1 HMC
      transitions per chain.
    num_chains: AIS chains per image.
    num_leapfrog_steps: leapfrog steps per HMC transition.
    initial: 'prior' or 'encoder' (q0 = q(z | y)).
    num_tuning_chains: chains per image of the warm-up pass.
    max_decoder_batch: decoder evaluations per call (images per call = this // chains, >= 1).
    verbose: show a progress bar.

  Returns:
    A `likelihood.LikelihoodEstimate` (nats per image) with extra keys `num_steps`,
    `num_chains`, `num_leapfrog_steps`, `initial`, `acceptance_rate` (mean acceptance
    probability over transitions, chains and images), `acceptance_by_step` (`[T - 1]`, mean over
    images), `step_size_median`, `effective_sample_size` (Kish's ESS of each image's chain
    weights, mean over images), `log_weights` (`[num, chains]`) and `seconds`.

  Raises:
    ValueError: for a non-positive count or another `initial`.
  """
  _check_config(num_steps, num_chains, num_tuning_chains)
  start = time.perf_counter()
  sampler = sampler_for(model, num_leapfrog_steps, initial)
  betas = sigmoid_schedule(num_steps)
  batch_size = max(1, max_decoder_batch // max(num_chains, num_tuning_chains))
  progbar = keras.utils.Progbar(len(observed), verbose=1 if verbose else 0, unit_name='image')
  log_weights, acceptances, sizes = [], [], []
  for i, begin in enumerate(range(0, len(observed), batch_size)):
    y = np.asarray(observed[begin:begin + batch_size], np.float32)
    step_sizes = sampler.tune(y, betas, num_tuning_chains, _batch_seed(seed, _TUNING_SALT, i))
    out = sampler.forward(y, betas, step_sizes, num_chains, _batch_seed(seed, _CHAIN_SALT, i))
    log_weights.append(out['log_weights'].T)
    acceptances.append(out['acceptance'])
    sizes.append(step_sizes)
    progbar.update(begin + len(y))
  log_weights = np.concatenate(log_weights).astype(np.float64)            # [num, chains]
  acceptance = np.concatenate(acceptances, axis=1)                         # [T - 1, num]
  result = likelihood.LikelihoodEstimate.from_values(likelihood.log_mean_exp(log_weights, 1))
  result.update(
      num_steps=int(num_steps), num_chains=int(num_chains),
      num_leapfrog_steps=int(num_leapfrog_steps), initial=initial,
      acceptance_rate=float(acceptance.mean()) if acceptance.size else None,
      acceptance_by_step=acceptance.mean(axis=1),
      step_size_median=float(np.median(np.concatenate(sizes, 1))) if acceptance.size else None,
      effective_sample_size=float(likelihood.effective_sample_size(log_weights, 1).mean()),
      log_weights=log_weights, seconds=time.perf_counter() - start)
  return result


def ais_log_likelihood(model, images, seed, **kwargs):
  """AIS estimate of log p~(y) of held-out images, on y = `likelihood.spread_draws(...)`.

  The same seed gives the same y as `likelihood.spread_elbo` and
  `likelihood.importance_weighted_log_likelihood`, so the three compare image by image.

  Args:
    model: a built `SpreadVAE`.
    images: float32 `[num, height, width, channels]` in [0, 1].
    seed: stateless seed, int32 `[2]`.
    **kwargs: `ais_of`'s settings (`num_steps`, `num_chains`, `num_leapfrog_steps`, `initial`,
      `num_tuning_chains`, `max_decoder_batch`, `verbose`).

  Returns:
    See `ais_of`.
  """
  return ais_of(model, likelihood.spread_draws(model, images, seed), seed, **kwargs)
