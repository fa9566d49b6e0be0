"""Times the delta-VAE train step: the MNIST MLP and the paper's CelebA conv nets.

  python launch/bench_vae.py --model=conv --batch=100 --precision=mixed_bfloat16

`run(...)` is what launch/benchmark.py calls. The step is `SpreadVAE.train_step` under
`tf.function` (no XLA: slower on CPU, see STACK.md) on a fixed random batch, with a Gaussian spread
of 0.5 and Adam 1e-4, like shared/bench/torch_delta_vae.py; the figure is the median over the
timed steps after warm-up.
"""

import json
import statistics
import time

from absl import app
from absl import flags
import keras
import tensorflow as tf

from spreadtf.models import celeba_conv
from spreadtf.models import mlp
from spreadtf.models import spread_vae
from spreadtf.spreads import kernels

_NETS = {'mlp': (mlp, (28, 28, 1), 20), 'conv': (celeba_conv, (64, 64, 3), 100)}


def run(model='mlp', batch=100, steps=5, precision='float32', warmup=2, seed=0):
  """Times `steps` train steps after `warmup` untimed ones.

  Args:
    model: 'mlp' (MNIST 28x28x1, z 20) or 'conv' (CelebA 64x64x3, z 100, paper widths).
    batch: batch size.
    steps: timed steps.
    precision: 'float32' or 'mixed_bfloat16' (networks only; spread, likelihood and KL stay
      float32).
    warmup: untimed steps (the first one traces).
    seed: model and data seed.

  Returns:
    Dict with `examples_per_s`, `step_s` (median), `loss` and the settings.
  """
  nets, image_shape, latent_dim = _NETS[model]
  keras.utils.set_random_seed(seed)
  vae = spread_vae.make_spread_vae(
      image_shape, latent_dim, nets.make_encoder, nets.make_decoder,
      lambda: kernels.GaussianSpread(0.5), seed=seed,
      dtype_policy=None if precision == 'float32' else precision)
  vae(tf.zeros((1,) + image_shape))
  vae.compile(optimizer=keras.optimizers.Adam(1e-4))
  vae.optimizer.build(vae.trainable_variables)
  images = tf.random.stateless_uniform((batch,) + image_shape, seed=[seed, 1])
  step = tf.function(vae.train_step)
  times = []
  for i in range(warmup + steps):
    start = time.perf_counter()
    logs = step(images)
    loss = float(logs['loss'])
    if i >= warmup:
      times.append(time.perf_counter() - start)
  step_s = statistics.median(times)
  return {'impl': 'spreadtf', 'model': model, 'batch': batch, 'precision': precision,
          'examples_per_s': batch / step_s, 'step_s': step_s, 'loss': loss,
          'tensorflow': tf.__version__}


def main(argv):
  del argv
  print(json.dumps(run(flags.FLAGS.model, flags.FLAGS.batch, flags.FLAGS.steps,
                       flags.FLAGS.precision)))


if __name__ == '__main__':
  # Defined only when run as a script: launch/benchmark.py imports this module and defines its
  # own flags of the same names.
  flags.DEFINE_enum('model', 'conv', ['mlp', 'conv'], 'Which train step.')
  flags.DEFINE_integer('batch', 100, 'Batch size.')
  flags.DEFINE_integer('steps', 5, 'Timed steps.')
  flags.DEFINE_enum('precision', 'float32', ['float32', 'mixed_bfloat16'], 'Network precision.')
  app.run(main)
