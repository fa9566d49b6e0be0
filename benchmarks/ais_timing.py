"""The spreadtf side of the AIS benchmark: images per second of `spreadtf.evaluation.ais.ais_of`.

The cost of AIS does not depend on the weights: every chain runs T - 1 HMC transitions of L
leapfrog steps whatever the model has learned. So the benchmark scores an untrained delta-VAE
(`vae_step_timing.make_vae`) on held-out spread data: the first mnist5k test digits (offline) for
28x28x1 networks, uniform images otherwise. One untimed call on two images traces the sampler
(shared through `ais.sampler_for`, with no retracing for other batch sizes), then one call over
all images is timed, tuning pass included.
"""

import time

import tensorflow as tf

from benchmarks import flops
from benchmarks import vae_step_timing
from spreadtf.data import mnist5k
from spreadtf.evaluation import ais
from spreadtf.evaluation import likelihood

__all__ = ['held_out_images', 'time_ais']


def held_out_images(image_shape, num, seed=0):
  """The first `num` mnist5k test digits for 28x28x1, else seeded uniform images in [0, 1]."""
  if tuple(image_shape) == mnist5k.IMAGE_SHAPE and num <= mnist5k.NUM_TEST:
    return mnist5k.load_mnist5k('test')[0][:num]
  return tf.random.stateless_uniform((num,) + tuple(image_shape), seed=[seed, 2]).numpy()


def time_ais(network, num_images=500, num_steps=300, num_chains=8, num_leapfrog_steps=5,
             num_tuning_chains=4, initial='encoder', seed=0):
  """Times `ais.ais_of` over `num_images` held-out images at the given settings.

  Args:
    network: a `vae_step_timing.Network`.
    num_images: images scored in the timed call.
    num_steps: AIS intermediate distributions T.
    num_chains: chains per image.
    num_leapfrog_steps: leapfrog steps per transition.
    num_tuning_chains: chains per image of the warm-up (tuning) pass.
    initial: 'encoder' or 'prior'.
    seed: model, data and AIS seed.

  Returns:
    A dict with `images_per_s`, `seconds`, `acceptance_rate` and `flops_per_image`
    (`flops.ais_flops`).
  """
  vae = vae_step_timing.make_vae(network, seed=seed)
  observed = likelihood.spread_draws(
      vae, held_out_images(network.image_shape, num_images, seed), tf.constant([seed, 0]))
  settings = dict(num_steps=num_steps, num_chains=num_chains,
                  num_leapfrog_steps=num_leapfrog_steps, num_tuning_chains=num_tuning_chains,
                  initial=initial)
  ais.ais_of(vae, observed[:2], tf.constant([seed, 1]), **settings)
  start = time.perf_counter()
  result = ais.ais_of(vae, observed, tf.constant([seed, 2]), **settings)
  seconds = time.perf_counter() - start
  return {'images_per_s': num_images / seconds, 'seconds': seconds,
          'acceptance_rate': result['acceptance_rate'],
          'flops_per_image': flops.ais_flops(flops.model_macs(vae.decoder), num_steps,
                                             num_chains + num_tuning_chains, num_leapfrog_steps)}
