"""Learned injective spread K(y - f(x)) with f = I + g an invertible residual map.

The noise keeps a fixed stationary kernel K (e.g. `GaussianSpread`) but its mean is moved by a
learned injective function f (Zhang et al., 2020, section 4.2, eq. 16):

    p~(y) = integral K(y - f(x)) p(x) dx.

Written as pure TF (raw `tf.Variable`s, `tf.nn.conv2d`), no Keras, so `spreads/` stays TF + TFP.

#### References

[1] Mingtian Zhang, Peter Hayes, Tom Bird, Raza Habib, David Barber. Spread Divergence.
    ICML 2020. https://arxiv.org/abs/1811.08968
[2] Jens Behrmann, Will Grathwohl, Ricky T. Q. Chen, David Duvenaud, Joern-Henrik Jacobsen.
    Invertible Residual Networks. ICML 2019. https://arxiv.org/abs/1811.00995
[3] Takeru Miyato, Toshiki Kataoka, Masanori Koyama, Yuichi Yoshida. Spectral Normalization for
    Generative Adversarial Networks. ICLR 2018. https://arxiv.org/abs/1802.05957
"""

import itertools
import numbers

import tensorflow as tf

from spreadtf.spreads import arguments
from spreadtf.spreads import kernel_interface
from spreadtf.spreads import spectral_normalization

__all__ = ['InjectiveSpread']


class InjectiveSpread(kernel_interface.SpreadKernel):
  """Injective spread K(y - f(x)), f(x) = x + g(x), Lip(g) < 1 by spectral normalisation.

  `g` is the paper code's `deep_injective` network. For image events `[height, width, channels]`:

      conv3x3(C -> hidden) -> ELU -> conv3x3(hidden -> hidden) -> ELU -> conv3x3(hidden -> C)

  (`num_layers` convolutions with bias, 'SAME' padding, stride 1). For vector events `[D]` the
  same stack uses dense layers `D -> hidden -> ... -> D`. Every kernel W is replaced by
  c * W / sigma(W), where sigma(W) is a power-iteration estimate of the spectral norm of W reshaped
  to a `[k * k * C_in, C_out]` matrix, and c = `lipschitz`.

  `kernel.at(loc, event_ndims)` is `base_kernel.at(f(loc), event_ndims)`, so it has
  `event_shape = loc.shape[-event_ndims:]` (`event_ndims = len(event_shape)`) and the batch shape
  the base kernel gives at f(loc) (`loc.shape[:-event_ndims]`, broadcast with the base scale's
  batch axes if it has any); `sample_spread(x, seed)` is y = f(x) + eps, eps ~ K.

  Variables. `trainable_variables` holds the raw kernels and biases of g (plus any variables of
  the base kernel, e.g. `L_raw` of a `LowRankGaussianSpread`). The power-iteration vectors u (one
  `[C_out]` vector per layer) are non-trainable `tf.Variable`s in `non_trainable_variables`
  (aggregation ONLY_FIRST_REPLICA, so assigning them in a `tf.distribute` replica context works).
  With `update_power_iteration=True` (default, as in [3] and the paper's code) every forward pass
  (`at`, `sample_spread`, `transform`) runs `power_iterations` steps from the stored u and writes
  the refined u back, so the estimate tracks the weights as they train; `power_iterate()` does
  the same explicitly. With `update_power_iteration=False` (e.g. for evaluation) forward passes
  are free of side effects. u and v are treated as constants in the gradient, as in [3].

  #### Mathematical details

  Validity (eqs. 16-17 of [1]): if f is injective, substituting z = f(x) gives
  p~(y) = integral K(y - z) p_z(z) dz with p_z the push-forward of p through f. Since K is
  stationary with a strictly positive Fourier transform, p~ = q~ implies p_z = q_z, and since f is
  injective, p_z = q_z implies p = q. f = I + g is injective (indeed a bijection of R^D, with
  inverse found by the fixed-point iteration x <- y - g(x), see `inverse`) whenever Lip(g) < 1 [2]:
  f(a) = f(b) implies |a - b| = |g(b) - g(a)| <= Lip(g) |a - b|.

  The normalisation gives Lip(g) <= (k c)^L for L layers of kernel size k (`spectral_normalization`
  has the argument), < 1 iff c < 1 / k (`is_valid_spread` is False otherwise): (3 * 0.1)^3 = 0.027
  for the defaults. With `operator_bound=True` each convolution is normalised to c / k instead, so
  Lip(g) <= c^L < 1 for any c in (0, 1) (at the price of smaller layers than the code's). Power
  iteration approaches a norm from below, so this holds up to its (in practice tiny) error;
  `lipschitz_upper_bound()` is rigorous, `lipschitz_estimate()` tight.

  #### Examples

  ```python
  base = spreadtf.spreads.GaussianSpread(0.5)
  kernel = spreadtf.spreads.InjectiveSpread(base, event_shape=[64, 64, 3], seed=[1, 2])
  y = kernel.sample_spread(images, seed=[3, 4])          # y = f(x) + 0.5 eps
  ll = kernel.at(decoded, event_ndims=3).log_prob(y)     # [batch]
  x = kernel.inverse(kernel.transform(images))           # ~ images
  ```

  #### References

  [1] Mingtian Zhang, Peter Hayes, Tom Bird, Raza Habib, David Barber. Spread Divergence.
      ICML 2020. https://arxiv.org/abs/1811.08968
  [2] Jens Behrmann, Will Grathwohl, Ricky T. Q. Chen, David Duvenaud, Joern-Henrik Jacobsen.
      Invertible Residual Networks. ICML 2019. https://arxiv.org/abs/1811.00995
  [3] Takeru Miyato, Toshiki Kataoka, Masanori Koyama, Yuichi Yoshida. Spectral Normalization for
      Generative Adversarial Networks. ICLR 2018. https://arxiv.org/abs/1802.05957
  """

  def __init__(self, base_kernel, event_shape, hidden_channels=32, num_layers=3, lipschitz=0.1,
               power_iterations=10, kernel_size=3, operator_bound=False,
               update_power_iteration=True, init_stddev=0.02, seed=None,
               name='InjectiveSpread'):
    """Builds f = I + g and its variables.

    Args:
      base_kernel: the `SpreadKernel` K after f, valid when it is stationary with a strictly
        positive characteristic function (`GaussianSpread`, `LaplaceSpread`,
        `LowRankGaussianSpread`); its `validate_args` is the injective kernel's too.
      event_shape: static event shape, `[height, width, channels]` (convolutional g) or `[D]`
        (dense g).
      hidden_channels: width of the hidden layers (channels or units).
      num_layers: number of linear layers in g (>= 1; 1 means a single C -> C layer).
      lipschitz: the spectral-norm target c, in (0, 1).
      power_iterations: power-iteration steps per forward pass (>= 1).
      kernel_size: odd convolution kernel size k (image events only).
      operator_bound: if True, normalise each convolution's reshaped kernel to c / k so that its
        operator norm is <= c (guaranteed Lip(g) <= c^L); if False (paper code), to c.
      update_power_iteration: if True, forward passes write the refined power-iteration vectors
        back to their variables.
      init_stddev: standard deviation of the truncated-normal kernel init (biases start at 0).
      seed: init seed: None (fresh), a Python int (deterministic) or a stateless seed `[2]`.
      name: module name.

    Raises:
      ValueError: on a bad event shape, `lipschitz` outside (0, 1), or non-positive sizes.
      TypeError: if `base_kernel` is not a `SpreadKernel`.
    """
    kernel_interface.check_spread_kernel(base_kernel, 'base_kernel')
    super().__init__(validate_args=base_kernel.validate_args, name=name)
    event_shape = tf.TensorShape(event_shape)
    if not event_shape.is_fully_defined() or event_shape.rank not in (1, 3):
      raise ValueError(f'`event_shape` must be a static [D] or [height, width, channels], got '
                       f'{event_shape}.')
    if not (isinstance(lipschitz, numbers.Real) and 0. < lipschitz < 1.):
      raise ValueError(f'`lipschitz` must be in (0, 1) for f = I + g to be invertible, got '
                       f'{lipschitz!r}.')
    for value, label in ((hidden_channels, 'hidden_channels'), (num_layers, 'num_layers'),
                         (power_iterations, 'power_iterations'), (kernel_size, 'kernel_size')):
      if not arguments.is_positive_int(value):
        raise ValueError(f'`{label}` must be a positive int, got {value!r}.')
    if kernel_size % 2 != 1:
      raise ValueError(f'`kernel_size` must be odd, got {kernel_size}.')
    if not (isinstance(init_stddev, numbers.Real) and init_stddev > 0):
      raise ValueError(f'`init_stddev` must be positive, got {init_stddev!r}.')
    self._base_kernel = base_kernel
    self._event_shape = event_shape
    self._is_image = event_shape.rank == 3
    self._kernel_size = int(kernel_size) if self._is_image else 1
    self._lipschitz = float(lipschitz)
    self._operator_bound = bool(operator_bound)
    self._power_iterations = int(power_iterations)
    self.update_power_iteration = bool(update_power_iteration)
    dtype = tf.as_dtype(base_kernel.dtype)

    channels = event_shape[-1]
    widths = [channels] + [hidden_channels] * (num_layers - 1) + [channels]
    seeds = tf.random.experimental.stateless_split(arguments.init_seed(seed), 2 * num_layers)
    self.kernels, self.biases, self.power_vectors = [], [], []
    with self.name_scope:
      for index, (c_in, c_out) in enumerate(itertools.pairwise(widths)):
        shape = ([self._kernel_size, self._kernel_size, c_in, c_out] if self._is_image
                 else [c_in, c_out])
        kernel = tf.random.stateless_truncated_normal(shape, seed=seeds[2 * index],
                                                      stddev=init_stddev, dtype=dtype)
        u = spectral_normalization.converged_power_vector(kernel, seeds[2 * index + 1])
        self.kernels.append(tf.Variable(kernel, name=f'kernel_{index}'))
        self.biases.append(tf.Variable(tf.zeros([c_out], dtype), name=f'bias_{index}'))
        self.power_vectors.append(tf.Variable(
            u, trainable=False, name=f'power_u_{index}',
            aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA))

  @property
  def base_kernel(self):
    return self._base_kernel

  @property
  def event_shape(self):
    return self._event_shape

  @property
  def dtype(self):
    return tf.as_dtype(self._base_kernel.dtype)

  @property
  def lipschitz(self):
    return self._lipschitz

  @property
  def is_valid_spread(self):
    """Python bool: the base kernel is valid and each layer's bound (k c, or c) is < 1."""
    base_valid = bool(self._base_kernel.is_valid_spread)
    per_layer_bound = self._target_norm() * self._kernel_size
    return base_valid and per_layer_bound < 1.

  def _target_norm(self):
    """The value the reshaped-kernel spectral norm is normalised to."""
    if self._operator_bound:
      return self._lipschitz / self._kernel_size
    return self._lipschitz

  def normalized_kernels(self, update=False):
    """The spectrally normalised kernels c * W / sigma_hat(W) used by g.

    Args:
      update: write the refined power-iteration vectors back to their variables.

    Returns:
      A list with one tensor per layer, `[k, k, C_in, C_out]` (images) or `[C_in, C_out]`.
    """
    normalized = []
    for kernel, power_vector in zip(self.kernels, self.power_vectors, strict=True):
      kernel, u = spectral_normalization.normalize(kernel, power_vector, self._target_norm(),
                                                   self._power_iterations)
      if update:
        power_vector.assign(u)
      normalized.append(kernel)
    return normalized

  def power_iterate(self, iterations=None):
    """Refines and stores the power-iteration vectors without a forward pass.

    Args:
      iterations: number of steps (default `power_iterations`).

    Returns:
      The per-layer spectral-norm estimates of the raw reshaped kernels, shape `[num_layers]`.
    """
    iterations = self._power_iterations if iterations is None else iterations
    sigmas = []
    for kernel, power_vector in zip(self.kernels, self.power_vectors, strict=True):
      sigma, u = spectral_normalization.estimate_spectral_norm(kernel, power_vector, iterations)
      power_vector.assign(u)
      sigmas.append(sigma)
    return tf.stack(sigmas)

  def _residual_with(self, normalized, x):
    """g(x) for `x` of shape `[batch, event...]` given normalised kernels."""
    h = x
    for index, (kernel, bias) in enumerate(zip(normalized, self.biases, strict=True)):
      if self._is_image:
        h = tf.nn.conv2d(h, kernel, strides=1, padding='SAME')
      else:
        h = tf.linalg.matmul(h, kernel)
      h = tf.nn.bias_add(h, bias)
      if index < len(normalized) - 1:
        h = tf.nn.elu(h)
    return h

  def _checked_input(self, x, name):
    x = arguments.convert_floating(x, name, dtype=self.dtype)
    rank = self._event_shape.rank
    if x.shape.rank is None or x.shape.rank < rank or not x.shape[-rank:].is_compatible_with(
        self._event_shape):
      raise ValueError(f'`{name}` of shape {x.shape} does not end with the event shape '
                       f'{self._event_shape}.')
    return x

  def _apply(self, fn, x):
    """Applies `fn` on `[-1, event...]` and restores the batch axes of `x`."""
    flat = tf.reshape(x, tf.concat([[-1], self._event_shape.as_list()], axis=0))
    return tf.reshape(fn(flat), tf.shape(x))

  def residual(self, x, update=None):
    """g(x), shape of `x` (`[batch..., event...]`); `update` defaults to the module flag."""
    x = self._checked_input(x, 'x')
    update = self.update_power_iteration if update is None else update
    normalized = self.normalized_kernels(update=update)
    return tf.ensure_shape(self._apply(lambda h: self._residual_with(normalized, h), x), x.shape)

  def transform(self, x, update=None):
    """f(x) = x + g(x) for `x` of shape `[batch..., event...]`; returns the same shape.

    Args:
      x: float tensor ending with `event_shape`.
      update: write back power-iteration vectors (default `update_power_iteration`).
    """
    x = self._checked_input(x, 'x')
    return x + self.residual(x, update=update)

  def inverse(self, y, iterations=50):
    """f^-1(y) by the fixed-point iteration x <- y - g(x) (Banach; error <= Lip(g)^n |g(y)|).

    For tests and diagnostics: does not update the power-iteration state.

    Args:
      y: float tensor `[batch..., event...]`.
      iterations: number of fixed-point steps (Python int).

    Returns:
      x with f(x) ~= y, the shape of `y`.
    """
    y = self._checked_input(y, 'y')
    normalized = self.normalized_kernels(update=False)

    def solve(flat_y):
      x = flat_y
      for _ in range(iterations):
        x = flat_y - self._residual_with(normalized, x)
      return x

    return tf.ensure_shape(self._apply(solve, y), y.shape)

  def lipschitz_upper_bound(self):
    """Rigorous bound prod_l k ||W_r,l||_2 on Lip(g) for the current weights (exact SVDs).

    k is the kernel size for convolutions and 1 for dense layers. No state update.

    Returns:
      A scalar tensor.
    """
    return spectral_normalization.lipschitz_upper_bound(self.normalized_kernels(update=False),
                                                        self._kernel_size)

  def layer_operator_norms(self, iterations=100, seed=(0, 0)):
    """Spectral norms of each layer's linear operator on the event (no state update).

    Args:
      iterations: power-iteration steps for convolutions (dense layers use exact SVDs).
      seed: stateless seed of the random start vectors.

    Returns:
      A `[num_layers]` tensor.
    """
    spatial_shape = self._event_shape[:2] if self._is_image else None
    return spectral_normalization.layer_operator_norms(
        self.normalized_kernels(update=False), spatial_shape, iterations=iterations, seed=seed)

  def lipschitz_estimate(self, iterations=100, seed=(0, 0)):
    """prod_l ||A_l||: the tight bound on Lip(g) (see `layer_operator_norms`). Scalar tensor."""
    return tf.reduce_prod(self.layer_operator_norms(iterations=iterations, seed=seed))

  def at(self, loc, event_ndims=None):
    """The noise distribution K(y - f(loc)) = base_kernel.at(f(loc), event_ndims).

    Args:
      loc: float tensor `[batch..., event...]` ending with `event_shape`.
      event_ndims: must equal `len(event_shape)` (its default).

    Returns:
      A `tfd.Distribution` with `event_shape = event_shape` and the batch shape of
      `batch_shape_at(loc.shape, event_ndims)`, differentiable in `loc` and in g's variables.

    Raises:
      ValueError: if `event_ndims` or the trailing shape of `loc` does not match `event_shape`.
    """
    event_ndims = self._checked_event_ndims(event_ndims)
    return self._base_kernel.at(self.transform(loc), event_ndims=event_ndims)

  def batch_shape_at(self, loc_shape, event_ndims=None):
    """The static batch shape of `at(loc, event_ndims)` for `loc` of static shape `loc_shape`.

    f keeps the shape of `loc`, so this is the base kernel's batch shape at that shape.

    Args:
      loc_shape: a `tf.TensorShape` (or list) ending with `event_shape`.
      event_ndims: must equal `len(event_shape)` (its default).

    Returns:
      A `tf.TensorShape`.

    Raises:
      ValueError: if `event_ndims` or the trailing shape does not match `event_shape`, or the base
        kernel's scale does not line up with `loc_shape`.
    """
    event_ndims = self._checked_event_ndims(event_ndims)
    loc_shape = tf.TensorShape(loc_shape)
    if loc_shape.rank is None or loc_shape.rank < event_ndims or not loc_shape[
        loc_shape.rank - event_ndims:].is_compatible_with(self._event_shape):
      raise ValueError(f'`loc` of shape {loc_shape} does not end with the event shape '
                       f'{self._event_shape}.')
    return self._base_kernel.batch_shape_at(loc_shape, event_ndims)

  def _checked_event_ndims(self, event_ndims):
    rank = self._event_shape.rank
    if event_ndims is None:
      event_ndims = rank
    if event_ndims != rank:
      raise ValueError(f'`event_ndims` must be {rank} for event shape {self._event_shape}, got '
                       f'{event_ndims!r}.')
    return event_ndims

  def spread_mean(self, x):
    """E[y | x] = f(x) for a zero-mean base kernel, where `low_variance` scores the decoder.

    As in the paper's code: log N(f(x) | f(g(z)), s^2 I), at the spread mean f(x), not at x.

    Args:
      x: float tensor `[batch..., event...]` ending with `event_shape`.

    Returns:
      f(x), the shape of `x` (same power-iteration update rule as `transform`).
    """
    return self.transform(x)

  def sample_spread(self, x, seed=None):
    """Spreads data: y = f(x) + eps, eps ~ K (the base kernel), one draw per element.

    Args:
      x: float tensor `[batch..., event...]` ending with `event_shape`.
      seed: forwarded to `base_kernel.sample_spread` (None, int, or stateless `[2]` seed).

    Returns:
      y, the shape and dtype of `x`.
    """
    return self._base_kernel.sample_spread(self.transform(x), seed=seed)
