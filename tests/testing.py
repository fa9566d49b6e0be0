"""Test fixtures: tiny runs of the training root (a small MLP SpreadVAE on fake 8x8 images), and a
linear-Gaussian SpreadVAE whose spread likelihood is known in closed form."""

import functools
import hashlib
import os

import keras
import numpy as np
from scipy import stats
import tensorflow as tf

from spreadtf import _compat
from spreadtf.data import fake
from spreadtf.models import mlp
from spreadtf.models import spread_vae
from spreadtf.spreads import kernels
from spreadtf.spreads import lowrank
from spreadtf.training import checkpoints
from spreadtf.training import spread_learning
from spreadtf.training import training_run

IMAGE_SHAPE = (8, 8, 1)


def make_tiny_model(**overrides):
  """Unbuilt tiny MLP SpreadVAE factory call (the root builds it inside the strategy scope)."""
  config = dict(image_shape=IMAGE_SHAPE, latent_dim=2, seed=0,
                encoder_fn=functools.partial(mlp.make_encoder, hidden_units=(8,)),
                decoder_fn=functools.partial(mlp.make_decoder, hidden_units=(8,)),
                spread_fn=lambda: kernels.GaussianSpread(0.2))
  config.update(overrides)
  return spread_vae.make_spread_vae(**config)


def make_adam():
  return keras.optimizers.Adam(1e-2)


def _nan_batch(index, images, nan_step):
  steps = tf.constant(nan_step if isinstance(nan_step, (list, tuple)) else [nan_step], tf.int64)
  return tf.where(tf.reduce_any(tf.equal(index, steps)), tf.fill(tf.shape(images), float('nan')),
                  images)


def make_nan_data(split, global_batch_size, seed, nan_step, repeat=True):
  """Fake data whose training batch number `nan_step` (0-based; or each of a list) is all NaN."""
  dataset = fake.make_fake_dataset(split, global_batch_size, seed, image_shape=IMAGE_SHAPE,
                                   num_examples=16, repeat=repeat)
  if split != 'train':
    return dataset
  return dataset.enumerate().map(functools.partial(_nan_batch, nan_step=nan_step))


def run(workdir, num_steps, **overrides):
  """`training_run.train` of the tiny model on 16 fake images, batch 4, 2 steps per epoch.

  No SavedModel export unless `export=True` is passed: exporting costs more than the run.
  """
  config = dict(seed=0, data_fn=functools.partial(fake.make_fake_dataset,
                                                  image_shape=IMAGE_SHAPE, num_examples=16),
                model_fn=make_tiny_model, optimizer_fn=make_adam, global_batch_size=4,
                num_steps=num_steps, steps_per_epoch=2, eval_steps=1, num_samples=4,
                export=False, verbose=False)
  config.update(overrides)
  return training_run.train(workdir, **config)


def low_rank_model(**overrides):
  return make_tiny_model(spread_fn=lambda: lowrank.LowRankGaussianSpread(
      0.2, rank=2, event_size=64, event_ndims=3, seed=0), **overrides)


def make_spread_adam():
  return keras.optimizers.Adam(1e-3)


def run_learned(workdir, num_steps, **overrides):
  """A run with a low-rank spread and a 2-step spread phase before every model step."""
  config = dict(model_fn=low_rank_model,
                spread_schedule=spread_learning.SpreadSchedule(start_step=0, period=1,
                                                               num_steps=2),
                spread_optimizer_fn=make_spread_adam)
  config.update(overrides)
  return run(workdir, num_steps, **config)


def restore_fresh(workdir):
  """A fresh model and optimizer restored from the latest checkpoint of `workdir`."""
  model = make_tiny_model()
  model(tf.zeros((1,) + IMAGE_SHAPE))
  optimizer = make_adam()
  optimizer.build(model.trainable_variables)
  checkpoint = checkpoints.make_checkpoint(model, optimizer)
  manager = tf.train.CheckpointManager(checkpoint, os.path.join(workdir, 'checkpoints'), 5)
  path = checkpoints.restore_latest(checkpoint, manager)
  return model, optimizer, path


def state_variables(prefix):
  """`{name: array}` of the model, optimizer and spread variables saved at `prefix`.

  Leaves out what is not training state: the input iterator, the run's progress (it holds
  wall-clock seconds) and bookkeeping counters.
  """
  names = [name for name, _ in tf.train.list_variables(prefix)
           if name.split('/')[0] in ('model', 'optimizer', 'spread', 'spread_optimizer', 'step')]
  return {name: tf.train.load_variable(prefix, name) for name in names}


def max_difference(first, second):
  """Largest absolute difference between two `state_variables` dicts (same names required)."""
  if set(first) != set(second):
    raise AssertionError(f'different variables: {sorted(set(first) ^ set(second))}')
  return max(float(np.max(np.abs(np.asarray(first[k], np.float64) -
                                 np.asarray(second[k], np.float64)))) for k in first)


def summary_steps(workdir):
  """`{tag: sorted steps}` of the TensorBoard events under `workdir`."""
  steps = {}
  for path in tf.io.gfile.glob(os.path.join(workdir, 'tensorboard', 'events.*')):
    for event in _compat.summary_events(path):
      for value in event.summary.value:
        steps.setdefault(value.tag, []).append(event.step)
  return {tag: sorted(s) for tag, s in steps.items()}


def summary_scalars(workdir, tag):
  """`[(step, value)]` of a scalar summary, by step."""
  values = []
  for path in tf.io.gfile.glob(os.path.join(workdir, 'tensorboard', 'events.*')):
    for event in _compat.summary_events(path):
      for value in event.summary.value:
        if value.tag == tag:
          values.append((event.step, float(tf.make_ndarray(value.tensor))))
  return sorted(values)


def hash_tree(directory):
  """`{relative path: sha256}` of every file under `directory`."""
  digests = {}
  for root, _, names in os.walk(directory):
    for name in names:
      path = os.path.join(root, name)
      with open(path, 'rb') as f:
        digests[os.path.relpath(path, directory)] = hashlib.sha256(f.read()).hexdigest()
  return digests


LINEAR_SHAPE = (2, 2, 1)
LINEAR_LATENT = 2


def linear_gaussian_weights():
  """(W `[4, 2]` with orthogonal columns of norms 1.5 and 0.8, b `[4]`) of the linear decoder."""
  q, _ = np.linalg.qr(np.random.RandomState(0).normal(size=(4, LINEAR_LATENT)))
  return q * np.array([1.5, 0.8]), np.array([0.2, -0.1, 0.3, 0.05])


def linear_posterior_variance(scale):
  """Per-coordinate variance of p(z | y) of the linear model under a Gaussian kernel `scale`."""
  w, _ = linear_gaussian_weights()
  return 1. / (1. + np.sum(w ** 2, 0) / scale ** 2)


def linear_gaussian_vae(spread_data=True, scale=0.5, shift=0., std_factor=1.):
  """A linear-Gaussian SpreadVAE with a known spread density, and that density.

  The decoder is g(z) = W z + b on 2x2x1 images (D = 4, latent 2) with a Gaussian kernel of
  `scale` s, so p~(y) = N(y | b, W W^T + s^2 I) (for `spread_data=False` the same Gaussian is the
  density of the clean x under the observation noise s). W has orthogonal columns, so the
  posterior p(z | y) is a diagonal Gaussian and the encoder is exactly it, moved by `shift` and
  with its standard deviation multiplied by `std_factor` (1 and 0: the exact posterior, so every
  importance weight equals p~(y)).

  Returns:
    `(model, exact, w, b)`: the `SpreadVAE`, the exact density (a frozen
    `scipy.stats.multivariate_normal` over flattened images) and the decoder's W and b.
  """
  w, b = linear_gaussian_weights()
  posterior_var = linear_posterior_variance(scale)
  kernel = w * posterior_var / scale ** 2             # posterior mean = (y - b) @ kernel

  images = keras.Input(LINEAR_SHAPE)
  flat = keras.layers.Flatten()(images)
  mean = keras.layers.Dense(LINEAR_LATENT, name='mean')(flat)
  log_std = keras.layers.Dense(LINEAR_LATENT, name='log_std')(flat)
  encoder = keras.Model(images, (mean, log_std))
  encoder.get_layer('mean').set_weights([kernel, -b @ kernel + shift])
  encoder.get_layer('log_std').set_weights(
      [np.zeros((4, LINEAR_LATENT)), 0.5 * np.log(posterior_var) + np.log(std_factor)])

  z = keras.Input((LINEAR_LATENT,))
  pixels = keras.layers.Dense(4, name='pixels')(z)
  decoder = keras.Model(z, keras.layers.Reshape(LINEAR_SHAPE)(pixels))
  decoder.get_layer('pixels').set_weights([w.T, b])
  model = spread_vae.SpreadVAE(encoder, decoder, kernels.GaussianSpread(scale),
                               spread_data=spread_data)
  exact = stats.multivariate_normal(b, w @ w.T + scale ** 2 * np.eye(4))
  return model, exact, w, b


def linear_images(num, seed=1):
  """`num` uniform 2x2x1 images (off the linear model's manifold)."""
  return np.random.RandomState(seed).uniform(size=(num,) + LINEAR_SHAPE).astype(np.float32)
