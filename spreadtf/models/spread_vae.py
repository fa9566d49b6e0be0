"""SpreadVAE: the delta-VAE of the Spread Divergence paper (a VAE with a deterministic decoder).

The model p(x) = integral delta(x - g(z)) N(z | 0, I) dz has no likelihood, so the ordinary ELBO is
undefined. Spreading both the data and the model with the same kernel K makes it well defined
(docs/method.md 3.2): with y = x + eps, eps ~ K,

    log p~(y) >= E_q(z|y)[log K(y - g(z))] - KL(q(z|y) || N(0, I))        (the spread ELBO)

and minimising the spread KL between data and model is maximising this bound over spread data.
q(z|y) is a diagonal Gaussian whose encoder sees the spread y, never the clean x.

Switches:
  * `low_variance=True` scores the reconstruction at the spread mean, log K(m(x) - g(z)) with
    m = `spread.spread_mean` (x itself for stationary kernels, f(x) for an injective spread),
    while the encoder still sees y (the authors' `low_variance` flag; the analytic average over
    the spread noise when z does not depend on y).
  * `spread_data=False` is the standard VAE baseline: no data spread, the encoder sees x, and the
    kernel acts as the decoder's own observation noise p(x|z) = K(x - g(z)) (a Gaussian with scale
    sqrt(0.5) for the paper's baseline).

Learned spreads (`LowRankGaussianSpread`, `InjectiveSpread`): `train_step` never updates the
spread. Compile with `spread_optimizer=` and call `spread_step` to take one ascent step on the
spread's variables, which *maximises* the same objective the model minimises (the negative spread
ELBO, an upper bound on the spread KL up to a constant), as in the paper's alternating max/min;
`spreadtf.training.spread_learning` runs such steps in phases on a schedule. Both `spread_step`
and `probe_objective` leave the model unchanged. By default they run the networks in inference
mode (BatchNorm normalises with its moving statistics); `spread_batch_statistics=True` does what
the authors' code did instead: BatchNorm normalises with the batch's own statistics, and the moving
averages (every non-trainable variable of the networks) are put back after the step, so they are
not updated. For networks without BatchNorm (the MLPs) the two are the same.

Non-finite steps: `train_step` applies an update only when the loss and every gradient are finite
and the update does not explode (`spreadtf.nonfinite_guard`); other steps advance
`optimizer.iterations` without an update and are counted by `model.nonfinite_guard`, which the
training loop reads once per host loop. `spread_step` is guarded the same way by a guard of its
own, `model.spread_guard` (its steps counted in `spread_optimizer.iterations`). The spread guard
is not part of the model's checkpoint (`tf.train.Checkpoint(model=...)`): the training root
saves it beside the model (`checkpoints.RunCheckpoints`), so checkpoints written before it
existed restore unchanged.

Randomness is stateless: the step seed is `fold_in([seed, salt], optimizer.iterations)`. Under a
strategy with several replicas every replica draws the noise of the whole global batch (the spread
acts on the gathered x) and keeps its own rows, so for networks without BatchNorm a step is the
same function of (global batch, seed) for any number of replicas (BatchNorm normalises with each
replica's own batch moments); a single replica pays nothing for this.

#### References

[1] Mingtian Zhang, Peter Hayes, Tom Bird, Raza Habib, David Barber. Spread Divergence.
    ICML 2020. https://arxiv.org/abs/1811.08968
"""

import types

import gin
import keras
import tensorflow as tf

from spreadtf import nonfinite_guard
from spreadtf.spreads import kernel_interface

__all__ = ['SpreadVAE', 'make_spread_vae', 'gaussian_kl']

_TRAIN_SALT = 0
_TEST_SALT = 1
_SPREAD_SALT = 2
_PROBE_SALT = 3


def gaussian_kl(mean, log_std):
  """KL(N(mean, exp(log_std)^2) || N(0, I)) in closed form, summed over the last axis.

  Args:
    mean: float tensor `[batch, latent_dim]`.
    log_std: float tensor `[batch, latent_dim]`.

  Returns:
    `[batch]` float tensor.
  """
  return 0.5 * tf.reduce_sum(
      tf.square(mean) + tf.exp(2. * log_std) - 1. - 2. * log_std, axis=-1)


def _num_replicas():
  """Replicas in sync in a replica context (1 outside `strategy.run`, e.g. for `sample`)."""
  context = tf.distribute.get_replica_context()
  return context.num_replicas_in_sync if context is not None else 1


def _gather_rows(local_rows, num_replicas):
  """The global batch on every replica, in replica order.

  A zero-padded all-reduce (exact: every element has one non-zero term) rather than
  `ReplicaContext.all_gather`, which fails under MultiWorkerMirroredStrategy in TF 2.21
  ("destinations can not be empty").
  """
  context = tf.distribute.get_replica_context()
  local_batch = tf.shape(local_rows)[0]
  before = context.replica_id_in_sync_group * local_batch
  paddings = tf.concat([[[before, (num_replicas - 1) * local_batch - before]],
                        tf.zeros([local_rows.shape.rank - 1, 2], tf.int32)], axis=0)
  gathered = context.all_reduce(tf.distribute.ReduceOp.SUM, tf.pad(local_rows, paddings))
  # tf.pad with computed paddings loses the static shape; kernels need the static event shape.
  return tf.ensure_shape(gathered, [None] + local_rows.shape[1:].as_list())


def _own_rows(global_rows, local_batch):
  """Rows of a global-batch tensor that belong to the current replica."""
  replica_id = tf.distribute.get_replica_context().replica_id_in_sync_group
  return global_rows[replica_id * local_batch:(replica_id + 1) * local_batch]


class SpreadVAE(keras.Model):
  """Delta-VAE (or, with `spread_data=False`, a standard VAE) with a custom `train_step`.

  Inputs are images `[batch, height, width, channels]` in [0, 1] (or `(images, ...)` tuples).
  Metrics (unscaled means over examples): `loss` (the objective), `elbo` (the spread ELBO at the
  spread sample y; the plain ELBO for the baseline), `reconstruction` (E_q log K(y - g(z))) and
  `kl`.
  """

  def __init__(self, encoder, decoder, spread, low_variance=False, spread_data=True, seed=0,
               spread_batch_statistics=False, name='spread_vae', **kwargs):
    """Builds the model.

    Args:
      encoder: Keras model mapping `[batch, *image_shape]` to `(mean, log_std)`, each
        `[batch, latent_dim]`.
      decoder: Keras model mapping `[batch, latent_dim]` to `[batch, *image_shape]`.
      spread: a `spreadtf.SpreadKernel` (the model uses its `sample_spread`, `at`, `spread_mean`,
        `dtype` and `trainable_variables`), e.g. `spreadtf.GaussianSpread(0.5)` or a learned
        `LowRankGaussianSpread` / `InjectiveSpread`. For the baseline it is the observation
        noise. Its variables are not Keras weights: `train_step` does not update them.
      low_variance: score the reconstruction at `spread.spread_mean(x)` instead of at y.
      spread_data: False gives the standard VAE baseline (no spread of the data).
      seed: integer seed of the in-step noise.
      spread_batch_statistics: run `spread_step` / `probe_objective` with BatchNorm on batch
        statistics (moving averages kept unchanged), as the authors did; False: inference mode.
      name: model name.
      **kwargs: passed to `keras.Model`.

    Raises:
      TypeError: if `spread` is not a `spreadtf.SpreadKernel`.
    """
    kernel_interface.check_spread_kernel(spread, 'spread')
    super().__init__(name=name, **kwargs)
    self.encoder = encoder
    self.decoder = decoder
    self.spread = spread
    self.low_variance = bool(low_variance)
    self.spread_data = bool(spread_data)
    self.seed = int(seed)
    self.spread_batch_statistics = bool(spread_batch_statistics)
    self.latent_dim = int(decoder.inputs[0].shape[-1])
    self.image_shape = tuple(int(d) for d in decoder.outputs[0].shape[1:])
    self._trackers = [keras.metrics.Mean(name=n) for n in ('loss', 'elbo', 'reconstruction',
                                                           'kl')]
    self.nonfinite_guard = nonfinite_guard.NonfiniteGuard()
    # A plain namespace is not tracked by TensorFlow's checkpoint dependencies (see the module
    # docstring): the training root saves this guard itself.
    self._untracked = types.SimpleNamespace(
        spread_guard=nonfinite_guard.NonfiniteGuard(name='spread_guard'))

  @property
  def spread_guard(self):
    """The `NonfiniteGuard` of `spread_step` (counts refused spread-ascent steps)."""
    return self._untracked.spread_guard

  @property
  def metrics(self):
    return list(self._trackers)

  def compile(self, optimizer='adam', spread_optimizer=None, **kwargs):
    """Configures training: `optimizer` for the networks, `spread_optimizer` for the spread.

    Args:
      optimizer: Keras optimizer of the encoder and decoder (minimisation).
      spread_optimizer: None, or a Keras optimizer of `spread.trainable_variables`, used by
        `spread_step` (ascent). Build it on those variables inside the strategy scope.
      **kwargs: passed to `keras.Model.compile`.
    """
    super().compile(optimizer=optimizer, **kwargs)
    self.spread_optimizer = spread_optimizer

  def call(self, images, training=False):
    """Reconstructs images through the posterior mean: g(E[z | images]).

    Args:
      images: `[batch, *image_shape]`.
      training: BatchNorm mode.

    Returns:
      `[batch, *image_shape]` float32.
    """
    mean, _ = self.encoder(images, training=training)
    return self.decode(mean, training=training)

  def encode(self, images, training=False):
    """Returns `(mean, log_std)` of q(z | images), each `[batch, latent_dim]` float32."""
    mean, log_std = self.encoder(images, training=training)
    return tf.cast(mean, tf.float32), tf.cast(log_std, tf.float32)

  def decode(self, z, training=False):
    """The deterministic generator g(z): `[batch, latent_dim]` -> `[batch, *image_shape]`."""
    return tf.cast(self.decoder(z, training=training), tf.float32)

  def sample(self, num, seed):
    """Draws `num` samples x = g(z), z ~ N(0, I) (no noise is added).

    Args:
      num: number of samples (int or scalar int32 tensor).
      seed: stateless seed, int32 `[2]`.

    Returns:
      `[num, *image_shape]` float32 images.
    """
    z = tf.random.stateless_normal([num, self.latent_dim], seed=seed)
    return self.decode(z)

  def per_example_terms(self, images, seed, training=False):
    """Per-example objective and ELBO terms for one (local) batch.

    Args:
      images: `[batch, *image_shape]`.
      seed: stateless seed, int32 `[2]`, shared by all replicas.
      training: BatchNorm mode.

    Returns:
      Dict of `[batch]` float32 tensors: `loss`, `elbo`, `reconstruction`, `kl`.
    """
    x = tf.cast(images, self.spread.dtype)
    num_replicas = _num_replicas()
    local_batch = tf.shape(x)[0]
    spread_seed, z_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    if not self.spread_data:
      y = x
    elif num_replicas == 1:
      y = self.spread.sample_spread(x, seed=spread_seed)
    else:
      x_all = _gather_rows(x, num_replicas)
      y = _own_rows(self.spread.sample_spread(x_all, seed=spread_seed), local_batch)
    mean, log_std = self.encode(y, training=training)
    eps = tf.random.stateless_normal([local_batch * num_replicas, self.latent_dim], seed=z_seed)
    if num_replicas > 1:
      eps = _own_rows(eps, local_batch)
    g = self.decode(mean + tf.exp(log_std) * eps, training=training)
    likelihood = self.spread.at(g, event_ndims=len(self.image_shape))
    reconstruction = likelihood.log_prob(y)
    objective = (likelihood.log_prob(self.spread.spread_mean(x))
                 if self.low_variance and self.spread_data else reconstruction)
    kl = gaussian_kl(mean, log_std)
    return {'loss': kl - objective, 'elbo': reconstruction - kl,
            'reconstruction': reconstruction, 'kl': kl}

  def _step_seed(self, salt):
    step = tf.cast(self.optimizer.iterations, tf.int32)
    return tf.random.experimental.stateless_fold_in(tf.constant([self.seed, salt], tf.int32), step)

  def _update_metrics(self, terms, applied=None):
    """Adds `terms` to the running means; a step not `applied` adds nothing (not even NaN)."""
    for tracker in self._trackers:
      values = terms[tracker.name]
      if applied is None:
        tracker.update_state(values)
      else:
        tracker.update_state(tf.where(applied, values, tf.zeros_like(values)),
                             sample_weight=tf.fill(tf.shape(values), tf.cast(applied, tf.float32)))
    return {tracker.name: tracker.result() for tracker in self._trackers}

  def train_step(self, data):
    """One optimizer step on a (per-replica) batch; returns the running metric means.

    A step whose loss or gradients are not finite is not applied (`optimizer.iterations` still
    advances), is counted by `nonfinite_guard` (see `spreadtf.nonfinite_guard`) and adds
    nothing to the metrics.
    """
    images = data[0] if isinstance(data, (tuple, list)) else data
    global_batch = tf.shape(images)[0] * _num_replicas()
    with tf.GradientTape() as tape:
      terms = self.per_example_terms(images, self._step_seed(_TRAIN_SALT), training=True)
      loss = tf.nn.compute_average_loss(terms['loss'], global_batch_size=global_batch)
      if self.losses:
        loss += tf.nn.scale_regularization_loss(tf.add_n(self.losses))
    variables = self.trainable_variables
    gradients = tape.gradient(loss, variables)
    applied = self.nonfinite_guard.apply_gradients(self.optimizer, loss, gradients, variables)
    return self._update_metrics(terms, applied)

  def test_step(self, data):
    """Held-out spread ELBO at the training spread (seeded by the current step)."""
    images = data[0] if isinstance(data, (tuple, list)) else data
    terms = self.per_example_terms(images, self._step_seed(_TEST_SALT), training=False)
    return self._update_metrics(terms)

  def _objective_share(self, data, seed):
    """This replica's share sum_i loss_i / global_batch of the mean objective, model unchanged.

    Inference mode, or (`spread_batch_statistics`) training mode with the networks'
    non-trainable variables (BatchNorm moving averages) restored afterwards.
    """
    images = data[0] if isinstance(data, (tuple, list)) else data
    global_batch = tf.shape(images)[0] * _num_replicas()
    if not self.spread_batch_statistics:
      terms = self.per_example_terms(images, seed, training=False)
      return tf.nn.compute_average_loss(terms['loss'], global_batch_size=global_batch)
    state = self.encoder.non_trainable_variables + self.decoder.non_trainable_variables
    saved = [tf.identity(v) for v in state]
    terms = self.per_example_terms(images, seed, training=True)
    objective = tf.nn.compute_average_loss(terms['loss'], global_batch_size=global_batch)
    with tf.control_dependencies([objective]):
      restores = [v.assign(value) for v, value in zip(state, saved, strict=True)]
    with tf.control_dependencies(restores):
      return tf.identity(objective)

  def spread_step(self, data):
    """One ascent step of `spread_optimizer` on the spread's variables (per-replica batch).

    Maximises the mean objective (the loss `train_step` minimises) over the spread, with the
    model fixed (BatchNorm: see `spread_batch_statistics`); seeded by
    `fold_in([seed, 2], spread_optimizer.iterations)`. Call it through `strategy.run` like
    `train_step`. A step whose objective or a gradient of the spread is NaN or Inf, or whose
    update would blow the spread's variables up, is not applied (`spread_optimizer.iterations`
    still advances) and is counted by `spread_guard`.

    Returns:
      This replica's share of the mean objective before the step (sum over replicas: the mean).

    Raises:
      ValueError: if the model was compiled without a spread optimizer or the spread has no
        trainable variables.
    """
    if getattr(self, 'spread_optimizer', None) is None:
      raise ValueError('spread_step needs a spread optimizer: compile(..., spread_optimizer=...).')
    variables = list(self.spread.trainable_variables)
    if not variables:
      raise ValueError(f'the spread {type(self.spread).__name__} has no trainable variables to '
                       'learn; use a learned spread (LowRankGaussianSpread, InjectiveSpread).')
    step = tf.cast(self.spread_optimizer.iterations, tf.int32)
    seed = tf.random.experimental.stateless_fold_in(
        tf.constant([self.seed, _SPREAD_SALT], tf.int32), step)
    with tf.GradientTape() as tape:
      objective = self._objective_share(data, seed)
      negated = -objective  # Ascent: the optimizer minimises the negated objective.
    gradients = tape.gradient(negated, variables)
    self.spread_guard.apply_gradients(self.spread_optimizer, negated, gradients, variables)
    return objective

  def probe_objective(self, data):
    """This replica's share of the mean objective at a fixed seed (no update, inference mode).

    With the same batch, two calls differ only through the parameters (common random numbers),
    so it measures what a spread phase did to the objective.
    """
    return self._objective_share(data, tf.constant([self.seed, _PROBE_SALT], tf.int32))


@gin.configurable(module='spreadtf.models.spread_vae')
def make_spread_vae(image_shape, latent_dim, encoder_fn, decoder_fn, spread_fn,
                    low_variance=False, spread_data=True, seed=0, dtype_policy=None,
                    spread_batch_statistics=False):
  """Builds a `SpreadVAE` from network factories and a spread-kernel constructor.

  Call inside `strategy.scope()`: everything built here may own variables (learned spreads too).

  Args:
    image_shape: `(height, width, channels)`.
    latent_dim: size of z.
    encoder_fn: `fn(image_shape=, latent_dim=, dtype_policy=) -> keras.Model`, e.g.
      `mlp.make_encoder`.
    decoder_fn: same signature, e.g. `celeba_conv.make_decoder`.
    spread_fn: zero-argument callable returning the kernel, e.g. `GaussianSpread` with its scale
      bound in gin.
    low_variance: see `SpreadVAE`.
    spread_data: see `SpreadVAE` (False: standard VAE baseline).
    seed: integer seed of the in-step noise.
    dtype_policy: None or a Keras dtype policy name such as `'mixed_bfloat16'` for the networks;
      the spread noise, likelihood and KL stay float32.
    spread_batch_statistics: see `SpreadVAE` (BatchNorm mode of spread-ascent steps).

  Returns:
    An unbuilt `SpreadVAE` (call it once on a batch to create its variables).
  """
  image_shape = tuple(image_shape)
  encoder = encoder_fn(image_shape=image_shape, latent_dim=latent_dim, dtype_policy=dtype_policy)
  decoder = decoder_fn(image_shape=image_shape, latent_dim=latent_dim, dtype_policy=dtype_policy)
  return SpreadVAE(encoder, decoder, spread_fn(), low_variance=low_variance,
                   spread_data=spread_data, seed=seed,
                   spread_batch_statistics=spread_batch_statistics)
