"""The spreadtf side of the delta-VAE benchmarks: `SpreadVAE.train_step` examples per second.

The step is `SpreadVAE.train_step` under `tf.function` (without XLA, which is slower on CPU) on a
fixed uniform batch, with a Gaussian spread of 0.5 and Adam 1e-4, the workload of
`benchmarks/reference/torch_delta_vae.py`. The figure is the batch over the median step time.
"""

import collections
import functools
import statistics
import time

import keras
import tensorflow as tf

from benchmarks import flops
from spreadtf import nonfinite_guard
from spreadtf.models import celeba_conv
from spreadtf.models import mlp
from spreadtf.models import spread_vae
from spreadtf.spreads import kernels
from spreadtf.training import model_building

__all__ = ['Network', 'CELEBA_CONV', 'MNIST_MLP', 'SPREAD_SCALE', 'make_vae', 'time_train_step']

SPREAD_SCALE = 0.5

Network = collections.namedtuple('Network', ['encoder_fn', 'decoder_fn', 'image_shape',
                                             'latent_dim'])
Network.__doc__ = """A delta-VAE's networks.

Attributes:
  encoder_fn: `fn(image_shape=, latent_dim=, dtype_policy=) -> keras.Model`.
  decoder_fn: the same signature, the deterministic decoder.
  image_shape: `(height, width, channels)`.
  latent_dim: size of z.
"""

CELEBA_CONV = Network(celeba_conv.make_encoder, celeba_conv.make_decoder, (64, 64, 3), 100)
MNIST_MLP = Network(mlp.make_encoder, mlp.make_decoder, (28, 28, 1), 20)


def make_vae(network, precision='float32', seed=0):
  """Builds and compiles a `SpreadVAE` with a Gaussian spread of 0.5 and Adam 1e-4.

  Args:
    network: a `Network`.
    precision: 'float32' or 'mixed_bfloat16' (the networks' Keras dtype policy; the spread,
      likelihood and KL stay float32).
    seed: the run seed of initialisation and in-step noise (sets Keras' global seed).

  Returns:
    The built, compiled model (built as training builds it: `model_building.build_model`).
  """
  keras.utils.set_random_seed(seed)
  model_fn = functools.partial(
      spread_vae.make_spread_vae, network.image_shape, network.latent_dim, network.encoder_fn,
      network.decoder_fn, lambda: kernels.GaussianSpread(SPREAD_SCALE),
      dtype_policy=None if precision == 'float32' else precision)
  return model_building.build_model(model_fn, seed,
                                    optimizer_fn=functools.partial(keras.optimizers.Adam, 1e-4))


def time_train_step(network, batch=32, steps=3, warmup=1, precision='float32', seed=0,
                    max_update_ratio=nonfinite_guard.DEFAULT_MAX_UPDATE_RATIO):
  """Times `steps` train steps after `warmup` untimed ones (the first traces the step).

  Args:
    network: a `Network`.
    batch: batch size.
    steps: timed steps.
    warmup: untimed steps.
    precision: 'float32' or 'mixed_bfloat16'.
    seed: model and data seed.
    max_update_ratio: the update-size bound of the step's non-finite guard, as
      `train.max_update_ratio` (the default, as training); None turns the bound off.

  Returns:
    A dict with `examples_per_s`, `step_s` (median), the final `loss` and
    `flops_per_example` (see `benchmarks.flops`).
  """
  vae = make_vae(network, precision, seed)
  vae.nonfinite_guard.max_update_ratio = max_update_ratio
  images = tf.random.stateless_uniform((batch,) + tuple(network.image_shape), seed=[seed, 1])
  step = tf.function(vae.train_step)
  times = []
  for i in range(warmup + steps):
    start = time.perf_counter()
    loss = float(step(images)['loss'])
    if i >= warmup:
      times.append(time.perf_counter() - start)
  step_s = statistics.median(times)
  forward_macs = flops.model_macs(vae.encoder) + flops.model_macs(vae.decoder)
  return {'examples_per_s': batch / step_s, 'step_s': step_s, 'loss': loss,
          'flops_per_example': flops.train_step_flops(forward_macs)}
