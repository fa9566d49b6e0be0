"""Learned low-rank Gaussian ("Mahalanobis") spread N(y | x, s^2 I + L L^T).

The spread covariance is a fixed isotropic part s^2 I plus a learnable rank-R part L L^T, with L a
D x R matrix, R << D. Maximising the spread divergence over L (Zhang et al., 2020, section 4.1)
moves noise to where it best separates data and model, e.g. orthogonal to a shared manifold.

Everything here costs O(D R^2): the D x D covariance is never formed (D = 12288 for 64x64x3
CelebA images), except in `covariance()`, which exists for tests and diagnostics.

#### References

[1] Mingtian Zhang, Peter Hayes, Tom Bird, Raza Habib, David Barber. Spread Divergence.
    ICML 2020. https://arxiv.org/abs/1811.08968
"""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from spreadtf.spreads import arguments
from spreadtf.spreads import stationary

tfb = tfp.bijectors
tfd = tfp.distributions

__all__ = ['LowRankGaussianSpread']

_NORMALIZATIONS = ('determinant', 'trace')
# |r_ii| below this many machine epsilons times max_j |r_jj| are floored (class docstring).
_FLOOR_EPSILONS = 10.


class LowRankGaussianSpread(stationary.StationaryKernel):
  """Learned low-rank Gaussian spread K(y - x) = N(y | x, s^2 I_D + L L^T).

  The isotropic standard deviation `s = scale` is fixed; the factor `L` (shape `[D, R]`) is a
  determinant-normalised function of the trainable variable `L_raw` (see below), so
  `kernel.trainable_variables == (L_raw,)`.

  `kernel.at(loc, event_ndims)` has `batch_shape = loc.shape[:-event_ndims]` and
  `event_shape = loc.shape[-event_ndims:]`, whose elements must number `D = event_size`:
  vectors `[D]` (`event_ndims=1`) or images `[height, width, channels]` with
  `height * width * channels = D` (`event_ndims=3`; the image is flattened in row-major order,
  so `L`'s rows index `(h, w, c)` like `tf.reshape(image, [-1])`). `sample_spread(x)` returns the
  shape of `x` with one independent draw per event: the constructor's `event_ndims` trailing axes
  or, if that is None, the fewest trailing axes holding D elements.

  #### Mathematical details

  Density, with Sigma = s^2 I + L L^T and r = y - x:

      log N(y | x, Sigma) = -1/2 r^T Sigma^-1 r - D/2 log(2 pi) - 1/2 log|Sigma|.

  With the R x R "inner" (capacitance) matrix C = I_R + L^T L / s^2, the Woodbury and
  matrix-determinant identities give

      Sigma^-1  = I / s^2 - (1 / s^4) L C^-1 L^T,
      log|Sigma| = log|C| + D log s^2,

  both O(D R^2) (`tfd.MultivariateNormalDiagPlusLowRankCovariance` evaluates exactly these
  through `tf.linalg.LinearOperatorLowRankUpdate`, with a Cholesky factor of C). Sampling:
  y = x + L eps_R + s eps, eps_R ~ N(0, I_R), eps ~ N(0, I_D).

  Determinant normalisation. Without a constraint, maximising the divergence over L inflates the
  noise. The paper's code fixes a volume: with G = L_raw^T L_raw (R x R),

      L = norm * L_raw / det(G)^(1 / (2 R)),   so that   det(L^T L) = norm^(2 R).

  For R = 1 this is the code's L = norm * L_raw / sqrt(det(G)), i.e. ||L|| = norm. For R > 1 the
  code's literal formula divides by sqrt(det(G)) and gives det(L^T L) = norm^(2R) det(G)^(1 - R),
  which still depends on L_raw; we use the R-th root so the constraint really holds. Note what it
  fixes: the product of the R singular values of L (the volume of the noise ellipsoid's low-rank
  part), not each direction; single directions may grow as others shrink. L is invariant to
  rescaling L_raw, so `init_stddev` only affects optimisation, not the initial L.

  How det(G) is computed (numerical stability). The ascent on a determinant-normalised L drives
  one singular value of L_raw towards 0: shrinking one direction of L scales all the others up
  by the R-th root of what it loses, and the objective rewards that. On mnist5k L_raw's
  condition number grew into the thousands within a phase (docs/learned_spreads.md, "Long
  ascents"). A Cholesky factor of the Gram matrix G, the earlier method, squares the condition
  number: in float32 it fails (NaN) once cond(G) = cond(L_raw)^2 passes about 1 / eps = 8e6,
  i.e. cond(L_raw) of a few thousand, and that ended such a run with a NaN. So:

  * log det(G) = 2 sum_i log|r_ii| from a thin QR factorisation L_raw = Q R (Householder, on
    L_raw itself: nothing squared), and the normalisation stays in log space, L = L_raw *
    exp(log(norm) - log det(G) / (2 R)), so det(G) itself (1e-40 for 20 singular values of
    0.1, below float32's range) is never formed. Its rounding error grows like eps * cond(L_raw)
    instead of eps * cond(L_raw)^2 (measured against the Gram's Cholesky: docs/results.md,
    "The low-rank spread's normalisation").
  * Each |r_ii| enters the normalisation as max(|r_ii|, 10 eps max_j |r_jj|) (eps: the dtype's
    machine epsilon, 1.2e-7 for float32). Below that floor a QR in this precision no longer
    resolves the direction, and an exactly rank-deficient L_raw would give log 0 = -inf and a
    NaN factor. The floor is never active while cond(L_raw) < 1 / (10 eps) (8e5 in float32; a
    floored |r_ii| is at least sigma_min), and there det(L^T L) = norm^(2R) up to the QR's
    rounding: the method's constraint is unchanged. Beyond it det(L^T L) < norm^(2R) (the
    direction L_raw has lost is shorter than the normalisation assumes), and the factor is
    finite for every finite L_raw != 0, its gradient too unless the QR meets an exactly zero
    pivot (a zero column, which ascent steps do not produce). The floor is relative, so L is
    still invariant to rescaling L_raw. A floored direction of L is shorter than 10 eps times
    L's longest one, and each can lengthen the others by at most (10 eps)^(-1/R) (a factor of 2
    for R = 20 in float32): the ascent can no longer grow them by shrinking a direction float32
    cannot resolve. (The density has its own limit: its R x R capacitance I + L^T L / s^2 must
    stay factorable, which holds while L's longest direction is below about s / sqrt(eps), 870
    for s = 0.3.)

  Trace normalisation (`normalization='trace'`, not in the paper). Measured on MNIST-shaped data
  (docs/learned_spreads.md), an ascent on a determinant-normalised L puts nearly all the noise
  into one direction (singular values 17.6, 0.57, ..., 0.001 with norm = 0.1): the volume is
  bounded, no single direction is. The trace form fixes the total extra variance instead,

      L = norm * sqrt(R) * L_raw / ||L_raw||_F,   so that   trace(L^T L) = R norm^2,

  which bounds every direction's extra standard deviation by sqrt(R) norm (and equals the
  determinant form when all R singular values are equal).

  Validity (this is what `is_valid_spread` reports, for every value of L): Sigma >= s^2 I is full
  rank, so the characteristic function phi(w) = exp(-1/2 w^T Sigma w) is strictly positive, and
  the kernel is stationary, so the spread divergence is a divergence (Theorem 1 of [1]).

  #### Examples

  ```python
  kernel = spreadtf.spreads.LowRankGaussianSpread(
      scale=0.5, rank=10, event_size=64 * 64 * 3, seed=[1, 2])
  y = kernel.sample_spread(images, seed=[3, 4])          # [batch, 64, 64, 3]
  ll = kernel.at(decoded, event_ndims=3).log_prob(y)     # [batch]
  values, vectors = kernel.principal_directions(4)       # [4], [12288, 4]
  ```

  #### References

  [1] Mingtian Zhang, Peter Hayes, Tom Bird, Raza Habib, David Barber. Spread Divergence.
      ICML 2020. https://arxiv.org/abs/1811.08968
  """

  def __init__(self, scale, rank, event_size, event_ndims=None, norm=0.1, init_stddev=0.01,
               seed=None, dtype=tf.float32, validate_args=False, normalization='determinant',
               name='LowRankGaussianSpread'):
    """Builds the kernel and its `L_raw` variable.

    Args:
      scale: fixed positive isotropic standard deviation s (scalar).
      rank: Python int R, 1 <= R <= D.
      event_size: Python int D, the number of elements of one event.
      event_ndims: optional Python int, the event rank used by `sample_spread`/`noise` (and the
        default of `at`). If None, `sample_spread` infers it from the static shape of `x` as the
        fewest trailing axes holding D elements, and `at` defaults to 1.
      norm: positive float; the normalised factor satisfies det(L^T L) = norm^(2 R)
        (determinant normalisation) or trace(L^T L) = R norm^2 (trace normalisation).
      init_stddev: positive float, standard deviation of the N(0, init_stddev^2) init of `L_raw`.
      seed: init seed: None (fresh), a Python int (deterministic) or a stateless seed (int32
        tensor of shape `[2]`).
      dtype: floating dtype of the kernel (float32 by default).
      validate_args: check `scale > 0` and finite locations at run time.
      normalization: 'determinant' (the paper's code: fixes the product of L's singular values)
        or 'trace' (fixes their sum of squares, bounding every direction; see above).
      name: module name.

    Raises:
      ValueError: on a non-positive scale/norm/init_stddev, a non-scalar scale, rank < 1,
        rank > event_size, a bad event_size/event_ndims or an unknown normalization.
      TypeError: if `scale` or `dtype` is not floating.
    """
    dtype = tf.as_dtype(dtype)
    if not dtype.is_floating:
      raise TypeError(f'`dtype` must be floating, got {dtype.name}.')
    super().__init__(scale, validate_args=validate_args, dtype=dtype, name=name)
    if self._scale.shape.rank != 0:
      raise ValueError(f'`scale` must be a scalar, got shape {self._scale.shape}.')
    if not arguments.is_positive_int(event_size):
      raise ValueError(f'`event_size` must be a positive Python int, got {event_size!r}.')
    if not arguments.is_positive_int(rank) or rank > event_size:
      raise ValueError(f'`rank` must be an int with 1 <= rank <= event_size={event_size}, '
                       f'got {rank!r}.')
    if event_ndims is not None and not arguments.is_positive_int(event_ndims):
      raise ValueError(f'`event_ndims` must be None or a positive int, got {event_ndims!r}.')
    if not arguments.is_positive_number(norm):
      raise ValueError(f'`norm` must be a positive number, got {norm!r}.')
    if not arguments.is_positive_number(init_stddev):
      raise ValueError(f'`init_stddev` must be a positive number, got {init_stddev!r}.')
    if normalization not in _NORMALIZATIONS:
      raise ValueError(f'`normalization` must be one of {_NORMALIZATIONS}, got '
                       f'{normalization!r}.')
    self._normalization = normalization
    self._rank = int(rank)
    self._event_size = int(event_size)
    self._event_ndims = event_ndims
    self._norm = float(norm)
    with self.name_scope:
      init = tf.random.stateless_normal(
          [self._event_size, self._rank], seed=arguments.init_seed(seed),
          stddev=init_stddev, dtype=dtype)
      self.L_raw = tf.Variable(init, trainable=True, name='L_raw')

  # ---------------------------------------------------------------- parameters
  @property
  def rank(self):
    return self._rank

  @property
  def event_size(self):
    return self._event_size

  @property
  def norm(self):
    return self._norm

  @property
  def normalization(self):
    """'determinant' (det(L^T L) = norm^(2R)) or 'trace' (trace(L^T L) = R norm^2)."""
    return self._normalization

  def _qr_diagonal(self):
    """|r_ii| of the thin QR factorisation L_raw = Q R, shape `[R]`."""
    return tf.abs(tf.linalg.diag_part(tf.linalg.qr(self.L_raw, full_matrices=False).r))

  def log_det_gram(self):
    """log det(L_raw^T L_raw) = 2 sum_i log|r_ii| from a thin QR of L_raw. Returns a scalar.

    -inf for an exactly rank-deficient L_raw; `factor` uses a floored version (class docstring).
    """
    return 2. * tf.reduce_sum(tf.math.log(self._qr_diagonal()))

  def _normalising_log_det(self):
    """log det(L_raw^T L_raw) with each |r_ii| floored at 10 eps max_j |r_jj| (see above)."""
    diagonal = self._qr_diagonal()
    floor = _FLOOR_EPSILONS * np.finfo(self.dtype.as_numpy_dtype).eps * tf.reduce_max(diagonal)
    return 2. * tf.reduce_sum(tf.math.log(tf.maximum(diagonal, floor)))

  def condition_number(self):
    """sigma_max / sigma_min of L_raw (and of L), by an SVD: a diagnostic. Returns a scalar."""
    singular_values = tf.linalg.svd(self.L_raw, compute_uv=False)
    return singular_values[0] / singular_values[-1]

  def factor(self):
    """The normalised factor, shape `[D, R]`.

    L = norm * L_raw / det(L_raw^T L_raw)^(1/(2R)) (determinant normalisation, in log space
    through a QR of L_raw, finite for every finite L_raw != 0: see the class docstring) or
    L = norm * sqrt(R) * L_raw / ||L_raw||_F (trace normalisation).
    """
    if self._normalization == 'trace':
      log_scale = (np.log(self._norm) + 0.5 * np.log(self._rank)
                   - 0.5 * tf.math.log(tf.reduce_sum(tf.square(self.L_raw))))
    else:
      log_scale = np.log(self._norm) - self._normalising_log_det() / (2. * self._rank)
    return self.L_raw * tf.exp(log_scale)

  def covariance(self):
    """Dense covariance s^2 I + L L^T, shape `[D, D]` (O(D^2): tests and diagnostics only)."""
    factor = self.factor()
    scale = self._checked_scale()
    return (tf.square(scale) * tf.eye(self._event_size, dtype=self.dtype)
            + tf.linalg.matmul(factor, factor, transpose_b=True))

  def variance(self):
    """Per-coordinate variance s^2 + sum_r L_dr^2, shape `[D]`."""
    return tf.square(self._checked_scale()) + tf.reduce_sum(tf.square(self.factor()), axis=-1)

  def principal_directions(self, k=None):
    """Leading eigenpairs of the learned part L L^T via a thin SVD of L (O(D R^2)).

    Used for the paper's Fig. 2(d) diagnostic (learned noise directions vs the data manifold).

    Args:
      k: number of directions, 1 <= k <= R (default R).

    Returns:
      (eigenvalues `[k]`, descending; eigenvectors `[D, k]`, orthonormal columns). Reshape a
      column to the image shape to display it. Eigenvectors are defined up to sign. The full
      covariance s^2 I + L L^T has the same eigenvectors with eigenvalues s^2 + these.

    Raises:
      ValueError: if k is not in [1, R].
    """
    k = self._rank if k is None else k
    if not arguments.is_positive_int(k) or k > self._rank:
      raise ValueError(f'`k` must be an int in [1, rank={self._rank}], got {k!r}.')
    singular_values, left, _ = tf.linalg.svd(self.factor(), full_matrices=False)
    return tf.square(singular_values[:k]), left[:, :k]

  # ---------------------------------------------------------------- shapes
  def _resolve_event_ndims(self, x, event_ndims, name):
    if event_ndims is None:
      event_ndims = self._event_ndims
    if event_ndims is None:
      rank = x.shape.rank
      if rank is None:
        raise ValueError(f'`{name}` has unknown rank; pass `event_ndims` to the constructor.')
      size = 1
      for k in range(1, rank + 1):
        dim = x.shape[rank - k]
        if dim is None:
          break
        size *= dim
        if size == self._event_size:
          return k
      raise ValueError(f'cannot infer the event of `{name}` (shape {x.shape}): no trailing axes '
                       f'hold event_size={self._event_size} elements; pass `event_ndims`.')
    return event_ndims

  def _event_shape_of(self, x, event_ndims, name):
    if not isinstance(event_ndims, int) or event_ndims < 1:
      raise ValueError(f'`event_ndims` must be a positive Python int, got {event_ndims!r}.')
    if x.shape.rank is None or x.shape.rank < event_ndims:
      raise ValueError(f'`{name}` of shape {x.shape} has fewer than event_ndims={event_ndims} '
                       'axes.')
    event_shape = x.shape[x.shape.rank - event_ndims:]
    if not event_shape.is_fully_defined():
      raise ValueError(f'the event shape {event_shape} of `{name}` must be static.')
    if event_shape.num_elements() != self._event_size:
      raise ValueError(f'the event shape {event_shape} of `{name}` has '
                       f'{event_shape.num_elements()} elements, but event_size='
                       f'{self._event_size}.')
    return event_shape

  def _flatten_event(self, x, event_ndims):
    """[batch..., event...] -> [batch..., D]."""
    batch_static = x.shape[:x.shape.rank - event_ndims]
    if batch_static.is_fully_defined():
      batch = batch_static.as_list()
    else:
      batch = tf.shape(x)[:x.shape.rank - event_ndims]
    flat = tf.reshape(x, tf.concat([batch, [self._event_size]], axis=0)
                      if not isinstance(batch, list) else batch + [self._event_size])
    return tf.ensure_shape(flat, batch_static.concatenate([self._event_size]))

  # ---------------------------------------------------------------- kernel interface
  def at(self, loc, event_ndims=None):
    """The noise distribution N(y | loc, s^2 I + L L^T) around `loc`.

    Args:
      loc: float tensor `[batch..., event...]` with D elements per event (static event shape).
      event_ndims: trailing axes of `loc` forming one event (1 for `[D]`, 3 for
        `[height, width, channels]`). Defaults to the constructor's value, else 1.

    Returns:
      A `tfd.Distribution` with `batch_shape = loc.shape[:-event_ndims]`,
      `event_shape = loc.shape[-event_ndims:]`: a
      `tfd.MultivariateNormalDiagPlusLowRankCovariance` for vector events, wrapped in a
      `tfd.TransformedDistribution` with `tfb.Reshape` for image events. Its `log_prob` and
      `sample` cost O(D R^2) per event and are differentiable in `loc` and `L_raw`.

    Raises:
      ValueError: if the event shape is not static or does not hold D elements.
    """
    if event_ndims is None:
      event_ndims = self._event_ndims or 1
    loc = self._checked_loc(loc, event_ndims)
    event_shape = self._event_shape_of(loc, event_ndims, 'loc')
    scale = self._checked_scale()
    mvn = tfd.MultivariateNormalDiagPlusLowRankCovariance(
        loc=self._flatten_event(loc, event_ndims),
        cov_diag_factor=tf.fill([self._event_size], tf.square(scale)),
        cov_perturb_factor=self.factor(),
        # Not forwarded: TFP would then assert positive definiteness through a dense O(D^3)
        # Cholesky. s^2 I + L L^T is positive definite by construction once s > 0, which
        # `_checked_scale` asserts when `validate_args` is set.
        validate_args=False,
        name='LowRankGaussianSpreadNoise')
    if event_ndims == 1:
      return mvn
    return tfd.TransformedDistribution(
        mvn, tfb.Reshape(event_shape_out=event_shape.as_list(),
                         event_shape_in=[self._event_size], validate_args=self._validate_args),
        validate_args=self._validate_args)

  def noise(self, shape, seed=None):
    """Samples eps = L eps_R + s eps_D, reshaped to `shape` (D elements per trailing event).

    Args:
      shape: Python list/tuple `[batch..., event...]`, or an int32 tensor, whose total size is a
        multiple of D; the noise is drawn per consecutive block of D elements (row-major), which
        matches whole events whenever trailing axes hold exactly D elements.
      seed: None, a Python int or a stateless seed (int32 tensor `[2]`), with TFP semantics:
        only a stateless seed is reproducible (an int seed is stateful, as in `tfd` samplers).
        XLA (`jit_compile=True`) draws different, equally valid, normals from the same stateless
        seed than the non-XLA kernels do; each path is reproducible on its own.

    Returns:
      A float tensor of `shape`.
    """
    shape = tf.convert_to_tensor(shape, dtype=tf.int32)
    low_rank_seed, iso_seed = tfp.random.split_seed(seed, n=2)
    num_events = tf.reduce_prod(shape) // self._event_size
    eps_r = tf.random.stateless_normal(
        tf.stack([num_events, self._rank]), seed=low_rank_seed, dtype=self.dtype)
    eps = tf.random.stateless_normal(
        tf.stack([num_events, self._event_size]), seed=iso_seed, dtype=self.dtype)
    flat = (tf.linalg.matmul(eps_r, self.factor(), transpose_b=True)
            + self._checked_scale() * eps)
    return tf.reshape(flat, shape)

  def _checked_data(self, x):
    """Returns (`x` checked against its event, the shape of `x`): the noise is drawn per event."""
    x = arguments.convert_floating(x, 'x', dtype=self.dtype)
    event_ndims = self._resolve_event_ndims(x, None, 'x')
    x = self._checked_loc(x, event_ndims, name='x')
    self._event_shape_of(x, event_ndims, 'x')
    return x, tf.shape(x)

  def characteristic_function(self, omega, event_ndims=1):
    """phi(w) = E[exp(i w . eps)] = exp(-1/2 (s^2 |w|^2 + |L^T w|^2)) > 0.

    Args:
      omega: float tensor `[..., event...]` with D elements per event.
      event_ndims: trailing axes of `omega` forming one frequency vector (the kernel does not
        factorise over coordinates, so this must cover the whole event).

    Returns:
      A float tensor `omega.shape[:-event_ndims]`, strictly positive.
    """
    omega = arguments.convert_floating(omega, 'omega', dtype=self.dtype)
    self._event_shape_of(omega, event_ndims, 'omega')
    flat = self._flatten_event(omega, event_ndims)
    quad = (tf.square(self._checked_scale()) * tf.reduce_sum(tf.square(flat), axis=-1)
            + tf.reduce_sum(tf.square(tf.linalg.matmul(flat, self.factor())), axis=-1))
    return tf.exp(-0.5 * quad)
