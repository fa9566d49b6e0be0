"""Analytic FLOP counts of the benchmarked workloads (a multiply-add is 2 FLOPs).

Networks are counted from the layer shapes of the built Keras models, per example:

  * conv (`keras.layers.Conv2D`, `patch_conv.PatchConv2D`): out_h * out_w * k * k * in * out MACs;
  * transposed conv (`Conv2DTranspose`, `PatchConv2DTranspose`): in_h * in_w * k * k * in * out
    MACs (every input pixel adds a k x k x out patch; the adjoint of the conv above);
  * dense: in * out MACs per row.

A train step is counted as 3 forward passes (forward, input gradient, weight gradient, each with
the forward's MACs), 6 FLOPs per forward MAC; the first layer's unneeded input gradient is
included, as is usual. BatchNorm, activations, biases, the spread noise, the loss and the Adam
update are O(activations + parameters) and left out: under 0.5% of the step for the CelebA conv
nets, about 2% for the MNIST MLP at batch 100.

Spread EM is counted per iteration over all N points (see `spread_em_flops`): every arithmetic
operation, abs, max and exp counts as 1 FLOP; random-number generation is not counted.

AIS is counted per image (see `ais_flops`) from the decoder's gradient evaluations only.
"""

import math

import keras

from spreadtf.models import patch_conv

__all__ = ['model_macs', 'train_step_flops', 'spread_em_flops', 'ais_flops']

_CONVS = (keras.layers.Conv2D, patch_conv.PatchConv2D)
_TRANSPOSED_CONVS = (keras.layers.Conv2DTranspose, patch_conv.PatchConv2DTranspose)


def model_macs(model):
  """Multiply-accumulates of one example's forward pass through a built functional Keras model.

  Args:
    model: a functional `keras.Model` of convs, transposed convs, dense layers and layers whose
      weights are vectors only (BatchNorm) or that have no weights.

  Returns:
    MACs per example (int).

  Raises:
    ValueError: for a layer with matrix weights of another kind, which would go uncounted.
  """
  total = 0
  for layer in model.layers:
    if isinstance(layer, _TRANSPOSED_CONVS):
      total += math.prod(layer.input.shape[1:3]) * math.prod(layer.kernel.shape)
    elif isinstance(layer, _CONVS):
      total += math.prod(layer.output.shape[1:3]) * math.prod(layer.kernel.shape)
    elif isinstance(layer, keras.layers.Dense):
      total += math.prod(layer.input.shape[1:-1]) * math.prod(layer.kernel.shape)
    elif isinstance(layer, keras.Model):
      total += model_macs(layer)
    elif any(len(weight.shape) > 1 for weight in layer.weights):
      raise ValueError(f'cannot count the FLOPs of layer {layer.name!r} '
                       f'({type(layer).__name__}): not a conv, transposed conv or dense layer.')
  return total


def train_step_flops(forward_macs):
  """FLOPs of a train step per example: 3 passes of the forward's MACs, 2 FLOPs per MAC."""
  return 6 * forward_macs


def spread_em_flops(num_points, x_dim, z_dim, num_posterior_samples, common_random_numbers=True):
  """FLOPs of one spread-EM iteration (S_y = 1) over N points, as spreadtf.ica.em computes it.

  With N points, S = S_z proposals, X and Z the sizes, the terms that grow with N are

    spread y = x + sigma eps: 2 N X;  mu = y (A P): 2 N X Z;  E[y z^T] = y^T E_z: 2 N X Z;
    softmax of the [N, S] log-weights (max, subtract, exp, sum, divide): 5 N S;

  and, with common random numbers (z_ns = mu_n + e_s),

    log-weights sum_i -|mu_ni + e_si| / b: 3 N S Z + N S (add, abs, accumulate; divide);
    W e: 2 N S Z;  column sums of W: N S;  E_z = mu + W e: N Z;
    E[z z^T] = mu^T E_z + (W e)^T mu + e^T diag(colsum) e: 4 N Z^2 + 2 S Z^2 + S Z;
    e = eps L^T: 2 S Z^2;

  or, with independent draws (z_ns = mu_n + L eps_ns),

    z: N S (2 Z^2 + Z);  log-weights: 2 N S Z + N S;  E_z = sum_s w_ns z_ns: 2 N S Z;
    E[z z^T] = sum_ns (w_ns z_ns) z_ns^T: N S Z + 2 N S Z^2.

  The O(X Z^2 + Z^3) terms (A^T A, its Cholesky factor and inverse, the M-step solve) are left
  out.

  Args:
    num_points: N.
    x_dim: X.
    z_dim: Z.
    num_posterior_samples: S_z.
    common_random_numbers: the E-step sampling scheme.

  Returns:
    FLOPs per iteration (int).
  """
  n, x, z, s = num_points, x_dim, z_dim, num_posterior_samples
  shared = 2 * n * x + 4 * n * x * z + 5 * n * s
  if common_random_numbers:
    return (shared + 3 * n * s * z + n * s + 2 * n * s * z + n * s + n * z + 4 * n * z * z
            + 4 * s * z * z + s * z)
  return (shared + n * s * (2 * z * z + z) + 2 * n * s * z + n * s + 2 * n * s * z
          + n * s * z + 2 * n * s * z * z)


def ais_flops(decoder_macs, num_steps, num_chains, num_leapfrog_steps):
  """FLOPs per image of AIS (`spreadtf.evaluation.ais`): its decoder gradient evaluations.

  Each chain evaluates the gradient of log K(y - g(z)) with respect to z once per leapfrog step,
  L per transition and T - 1 transitions, plus twice at its start (the exact h and gradient, and
  HMC's bootstrap). A gradient with respect to the input only is 2 passes of the decoder's MACs
  (forward and input gradient, no weight gradients), 4 FLOPs per MAC. Left out: the kernel's
  log-density and the prior (O(pixels + latents) per evaluation, 0.4% for the MNIST MLP), the
  encoder (one pass per image) and HMC's bookkeeping.

  Args:
    decoder_macs: MACs of one decoder forward pass (`model_macs(decoder)`).
    num_steps: T.
    num_chains: chains per image over all passes (estimate plus tuning).
    num_leapfrog_steps: L.

  Returns:
    FLOPs per image (int).
  """
  return 4 * decoder_macs * num_chains * ((num_steps - 1) * num_leapfrog_steps + 2)
