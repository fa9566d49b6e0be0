"""Spectral normalisation of linear layers and the Lipschitz bounds it gives.

A layer's kernel W (a dense `[C_in, C_out]` matrix or a convolution `[k, k, C_in, C_out]`) is
replaced by c * W / sigma_hat(W), where sigma_hat(W) is a power-iteration estimate [2] of the
spectral norm of W reshaped to the matrix W_r of shape `[k * k * C_in, C_out]`, run from a
persistent vector u. This is what keeps the residual map of `InjectiveSpread`, f = I + g,
injective: f is a bijection whenever Lip(g) < 1 [1].

#### What the normalisation guarantees

ELU is 1-Lipschitz and biases do not change Lipschitz constants, so for a stack of layers
Lip(g) <= prod_l ||A_l||, with A_l the linear map of layer l.

- Dense layers: ||A_l|| is the matrix spectral norm, normalised to c.
- Convolutions: the normalised quantity is the norm of the reshaped kernel matrix W_r (the
  paper's / code's choice), not the norm of the convolution operator. Every output pixel is
  W_r^T applied to a k*k*C_in patch, and every input pixel appears in at most k*k patches, so
  ||A_l|| <= sqrt(k * k) ||W_r|| = k ||W_r|| (up to 3c for 3x3 kernels); random kernels are
  typically in between (measured 1.2c-2.2c for the default 3 -> 32 -> 32 -> 3 stack).

So with c = 0.1, three 3x3 layers: Lip(g) <= (3 * 0.1)^3 = 0.027 < 1. In general the guarantee
is Lip(g) <= (k c)^L, which is < 1 iff c < 1 / k. Normalising each convolution to c / k instead
gives ||A_l|| <= c and Lip(g) <= c^L < 1 for any c in (0, 1).

Caveat: power iteration approaches the spectral norm from below (u^T W v <= ||W|| for unit u, v),
so the normalised reshaped norm is c * ||W_r|| / sigma_hat >= c; with 10 iterations from a
persistent u the excess is tiny in practice but not bounded a priori. `lipschitz_upper_bound`
gives a rigorous bound for given weights (exact SVDs times k); `layer_operator_norms` gives the
tight norms of the convolution operators (power iteration on conv2d / conv2d_transpose at the
event's spatial size), whose product bounds Lip(g) tightly.

#### References

[1] Jens Behrmann, Will Grathwohl, Ricky T. Q. Chen, David Duvenaud, Joern-Henrik Jacobsen.
    Invertible Residual Networks. ICML 2019. https://arxiv.org/abs/1811.00995
[2] Takeru Miyato, Toshiki Kataoka, Masanori Koyama, Yuichi Yoshida. Spectral Normalization for
    Generative Adversarial Networks. ICLR 2018. https://arxiv.org/abs/1802.05957
"""

import tensorflow as tf

__all__ = ['converged_power_vector', 'estimate_spectral_norm', 'layer_operator_norms',
           'lipschitz_upper_bound', 'normalize', 'power_iteration']

# Power-iteration steps from a random start when a layer is created, so that early forward passes
# do not move the normalisation.
_INIT_POWER_ITERATIONS = 50


def power_iteration(matrix, u, iterations):
  """Miyato power iteration on `matrix` `[m, n]` from `u` `[n]`.

  Args:
    matrix: float tensor `[m, n]`.
    u: float tensor `[n]`, a unit vector (the previous estimate of the top right-singular vector).
    iterations: Python int, the number of steps.

  Returns:
    (sigma_hat, u): sigma_hat = v^T W u <= ||W||_2, a scalar differentiable in `matrix` only
    (u and v are constants, as in Miyato et al.), and the refined unit vector u `[n]`.
  """
  v = tf.math.l2_normalize(tf.linalg.matvec(matrix, u))
  for _ in range(iterations):
    v = tf.math.l2_normalize(tf.linalg.matvec(matrix, u))
    u = tf.math.l2_normalize(tf.linalg.matvec(matrix, v, transpose_a=True))
  u, v = tf.stop_gradient(u), tf.stop_gradient(v)
  return tf.reduce_sum(v * tf.linalg.matvec(matrix, u)), u


def _as_matrix(kernel):
  """`[k, k, C_in, C_out]` (or `[C_in, C_out]`) -> W_r `[k * k * C_in, C_out]`."""
  return tf.reshape(kernel, [-1, kernel.shape[-1]])


def estimate_spectral_norm(kernel, u, iterations):
  """sigma_hat(W_r) by `iterations` power-iteration steps from `u`.

  Args:
    kernel: a layer kernel `[k, k, C_in, C_out]` or `[C_in, C_out]` (tensor or variable).
    u: the stored unit vector `[C_out]` (tensor or variable).
    iterations: Python int.

  Returns:
    (sigma_hat, u): the estimate (a scalar, differentiable in `kernel`) and the refined u `[C_out]`.
  """
  return power_iteration(_as_matrix(kernel), tf.convert_to_tensor(u), iterations)


def converged_power_vector(kernel, seed, iterations=_INIT_POWER_ITERATIONS):
  """A starting u for a new layer: `iterations` steps from a random unit vector.

  Args:
    kernel: the layer's initial kernel `[k, k, C_in, C_out]` or `[C_in, C_out]`.
    seed: stateless seed (int32 `[2]`) of the random start.
    iterations: Python int.

  Returns:
    A unit vector `[C_out]` of the kernel's dtype.
  """
  u = tf.math.l2_normalize(tf.random.stateless_normal([kernel.shape[-1]], seed=seed,
                                                      dtype=kernel.dtype))
  _, u = power_iteration(_as_matrix(kernel), u, iterations)
  return u


def normalize(kernel, u, target, iterations):
  """The spectrally normalised kernel target * W / sigma_hat(W_r).

  Args:
    kernel: a layer kernel `[k, k, C_in, C_out]` or `[C_in, C_out]`.
    u: the stored power-iteration vector `[C_out]`.
    target: Python float, the spectral norm the reshaped kernel is normalised to.
    iterations: Python int, power-iteration steps from `u`.

  Returns:
    (the normalised kernel, the shape of `kernel`; the refined u `[C_out]`, to store if wanted).
  """
  sigma, u = estimate_spectral_norm(kernel, u, iterations)
  return kernel * (target / sigma), u


def lipschitz_upper_bound(kernels, kernel_size):
  """Rigorous bound prod_l k * ||W_r,l||_2 on the Lipschitz constant of a stack of layers.

  Exact SVDs, so no power-iteration error; with 1-Lipschitz activations between the layers.

  Args:
    kernels: the layers' (normalised) kernels, a list of `[k, k, C_in, C_out]` or
      `[C_in, C_out]` tensors.
    kernel_size: Python int k, the convolutions' kernel size (1 for dense layers).

  Returns:
    A scalar tensor.
  """
  bound = tf.ones([], kernels[0].dtype)
  for kernel in kernels:
    bound *= kernel_size * tf.linalg.svd(_as_matrix(kernel), compute_uv=False)[0]
  return bound


def _conv_operator_norm(kernel, spatial_shape, iterations, seed):
  """||A|| of A = conv2d (SAME, stride 1) on `[1, height, width, C_in]`, A^T = conv2d_transpose."""
  in_shape = [1, spatial_shape[0], spatial_shape[1], kernel.shape[2]]
  x = tf.math.l2_normalize(tf.random.stateless_normal(in_shape, seed=seed, dtype=kernel.dtype))
  for _ in range(iterations):
    y = tf.nn.conv2d(x, kernel, strides=1, padding='SAME')
    x = tf.math.l2_normalize(tf.nn.conv2d_transpose(y, kernel, in_shape, strides=1,
                                                    padding='SAME'))
  return tf.norm(tf.nn.conv2d(x, kernel, strides=1, padding='SAME'))


def layer_operator_norms(kernels, spatial_shape=None, iterations=100, seed=(0, 0)):
  """Spectral norms of each layer's linear operator on the event.

  Convolutions: power iteration on A = conv2d (SAME, stride 1) at the event's spatial size, with
  adjoint A^T = conv2d_transpose; the estimate increases towards ||A|| with `iterations`.
  Dense layers: exact largest singular value.

  Args:
    kernels: the layers' (normalised) kernels, `[k, k, C_in, C_out]` or `[C_in, C_out]` tensors.
    spatial_shape: `[height, width]` of the event (convolutions only).
    iterations: power-iteration steps for convolutions.
    seed: stateless seed of the random start vectors.

  Returns:
    A `[num_layers]` tensor.
  """
  seeds = tf.random.experimental.stateless_split(tf.convert_to_tensor(seed, tf.int32),
                                                 len(kernels))
  norms = []
  for index, kernel in enumerate(kernels):
    if kernel.shape.rank == 2:
      norms.append(tf.linalg.svd(kernel, compute_uv=False)[0])
    else:
      norms.append(_conv_operator_norm(kernel, spatial_shape, iterations, seeds[index]))
  return tf.stack(norms)
