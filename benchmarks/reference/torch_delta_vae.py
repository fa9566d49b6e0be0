"""Reference: the delta-VAE train step in plain PyTorch (no spreadtf, no TensorFlow), on the CPU.

The same networks and objective as spreadtf's `SpreadVAE` with `spreadtf.models.celeba_conv`
(the paper's CelebA nets, Zhang et al. 2020 section 5.3) or `spreadtf.models.mlp` (MNIST):

  * conv: encoder of four 5x5 stride-2 convs 128-256-512-1024, each with BatchNorm and ReLU,
    flatten, dense mean and dense log-std (z = 100); decoder dense to 4x4x1024 and ReLU, four 5x5
    stride-2 transposed convs 512-256-128-64 with BatchNorm and ReLU, a final 5x5 stride-1
    transposed conv to 3 channels with a sigmoid. Convs followed by BatchNorm have no bias, as in
    spreadtf. Images 64x64x3 (channels first, PyTorch's default layout).
  * mlp: encoder 784-512-256 (ReLU) then dense mean and log-std (z = 20); decoder 20-256-512 (ReLU)
    then 784 with a sigmoid. Images 28x28x1.

One train step: spread the batch, y = x + 0.5 eps; q(z|y) = N(mean, exp(log_std)^2) from the
encoder; z = mean + exp(log_std) eps'; the loss is the mean over the batch of
KL(q || N(0, I)) - log N(y | g(z), 0.5^2 I) (the negative spread ELBO with a Gaussian spread of
0.5 on data and model); Adam with learning rate 1e-4. `--precision=bfloat16` runs the forward pass
and the loss under `torch.autocast('cpu', dtype=torch.bfloat16)` (PyTorch's mixed precision:
weights and the optimizer stay float32), the counterpart of Keras' 'mixed_bfloat16'.

Run as a script it times `--steps` train steps after `--warmup` untimed ones on a fixed random
batch and prints one JSON line with `examples_per_s` (batch / median step time).
"""

import argparse
import json
import math
import os
import statistics
import time

import torch
from torch import nn

__all__ = ['SPREAD_SCALE', 'NETWORKS', 'DeltaVAE', 'time_train_step']

SPREAD_SCALE = 0.5


def _conv_block(in_channels, out_channels):
  return nn.Sequential(nn.Conv2d(in_channels, out_channels, 5, stride=2, padding=2, bias=False),
                       nn.BatchNorm2d(out_channels), nn.ReLU())


def _deconv_block(in_channels, out_channels):
  return nn.Sequential(
      nn.ConvTranspose2d(in_channels, out_channels, 5, stride=2, padding=2, output_padding=1,
                         bias=False),
      nn.BatchNorm2d(out_channels), nn.ReLU())


class _Unflatten(nn.Module):

  def __init__(self, shape):
    super().__init__()
    self.shape = tuple(shape)

  def forward(self, h):
    return h.view(-1, *self.shape)


def _conv_networks(latent_dim=100):
  """The paper's CelebA encoder body (to features) and decoder, for [batch, 3, 64, 64] images."""
  body = nn.Sequential(_conv_block(3, 128), _conv_block(128, 256), _conv_block(256, 512),
                       _conv_block(512, 1024), nn.Flatten())
  decoder = nn.Sequential(
      nn.Linear(latent_dim, 4 * 4 * 1024), _Unflatten((1024, 4, 4)), nn.ReLU(),
      _deconv_block(1024, 512), _deconv_block(512, 256), _deconv_block(256, 128),
      _deconv_block(128, 64), nn.ConvTranspose2d(64, 3, 5, stride=1, padding=2), nn.Sigmoid())
  return body, 4 * 4 * 1024, decoder


def _mlp_networks(latent_dim=20):
  """The MNIST MLP encoder body (to features) and decoder, for [batch, 1, 28, 28] images."""
  body = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256),
                       nn.ReLU())
  decoder = nn.Sequential(nn.Linear(latent_dim, 256), nn.ReLU(), nn.Linear(256, 512), nn.ReLU(),
                          nn.Linear(512, 784), nn.Sigmoid(), _Unflatten((1, 28, 28)))
  return body, 256, decoder


# name: (networks factory, image shape [channels, height, width], latent size)
NETWORKS = {'conv': (_conv_networks, (3, 64, 64), 100), 'mlp': (_mlp_networks, (1, 28, 28), 20)}


class DeltaVAE(nn.Module):
  """Encoder (body, dense mean, dense log-std) and deterministic decoder, with the spread loss."""

  def __init__(self, net, spread_scale=SPREAD_SCALE):
    super().__init__()
    make_networks, self.image_shape, latent_dim = NETWORKS[net]
    self.body, features, self.decoder = make_networks(latent_dim)
    self.mean = nn.Linear(features, latent_dim)
    self.log_std = nn.Linear(features, latent_dim)
    self.spread_scale = spread_scale

  def loss(self, x):
    """Mean over the batch of KL(q(z|y) || N(0, I)) - log N(y | g(z), spread_scale^2 I)."""
    y = x + self.spread_scale * torch.randn_like(x)
    h = self.body(y)
    mean, log_std = self.mean(h).float(), self.log_std(h).float()
    z = mean + torch.exp(log_std) * torch.randn_like(mean)
    g = self.decoder(z).float()
    dims = x[0].numel()
    reconstruction = (-0.5 * ((y - g) / self.spread_scale).pow(2).flatten(1).sum(1)
                      - dims * (math.log(self.spread_scale) + 0.5 * math.log(2. * math.pi)))
    kl = 0.5 * (mean.pow(2) + torch.exp(2. * log_std) - 1. - 2. * log_std).sum(1)
    return (kl - reconstruction).mean()


def time_train_step(net='conv', batch=32, steps=3, warmup=1, precision='float32', threads=None,
                    seed=0):
  """Times Adam(1e-4) train steps of the delta-VAE on a fixed uniform batch.

  Args:
    net: a key of `NETWORKS`.
    batch: batch size.
    steps: timed steps (the figure is the median); 0 only builds the model (no rate).
    warmup: untimed steps first.
    precision: 'float32' or 'bfloat16' (autocast of the forward pass and the loss).
    threads: intra-op threads (None: all CPUs, as TensorFlow uses).
    seed: torch seed.

  Returns:
    A dict with `examples_per_s`, `step_s`, the final `loss`, the number of trainable
    `parameters` and the settings.
  """
  threads = threads or os.cpu_count()
  torch.set_num_threads(threads)
  torch.manual_seed(seed)
  model = DeltaVAE(net)
  optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
  x = torch.rand(batch, *model.image_shape)
  times, loss = [], None
  for i in range(warmup + steps):
    start = time.perf_counter()
    optimizer.zero_grad(set_to_none=True)
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=precision == 'bfloat16'):
      loss = model.loss(x)
    loss.backward()
    optimizer.step()
    if i >= warmup:
      times.append(time.perf_counter() - start)
  step_s = statistics.median(times) if times else None
  return {'impl': 'pytorch', 'torch': torch.__version__, 'net': net, 'batch': batch,
          'precision': precision, 'threads': threads, 'steps': steps,
          'parameters': sum(p.numel() for p in model.parameters() if p.requires_grad),
          'examples_per_s': batch / step_s if step_s else None, 'step_s': step_s,
          'loss': None if loss is None else float(loss.detach())}


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--net', choices=sorted(NETWORKS), default='conv')
  parser.add_argument('--batch', type=int, default=32)
  parser.add_argument('--steps', type=int, default=3, help='timed train steps (0: build only)')
  parser.add_argument('--warmup', type=int, default=1, help='untimed train steps first')
  parser.add_argument('--precision', choices=['float32', 'bfloat16'], default='float32')
  parser.add_argument('--threads', type=int, default=None, help='default: all CPUs')
  parser.add_argument('--seed', type=int, default=0)
  args = parser.parse_args()
  print(json.dumps(time_train_step(args.net, args.batch, args.steps, args.warmup,
                                   args.precision, args.threads, args.seed)))


if __name__ == '__main__':
  main()
