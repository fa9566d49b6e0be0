"""The built-in closed-form spreads, registered with `spread_registry.RegisterSpread`.

- A point mass (`Deterministic`, `VectorDeterministic`, `Independent` of them) under any
  `SpreadKernel`: the kernel at the point, `kernel.at(loc, event_ndims)`.
- `Empirical` with points x_1..x_N under any `SpreadKernel`: the kernel mixture
  (1/N) sum_n K(y | x_n), a `MixtureSameFamily` (an exact `SpreadDistribution` over all N points
  when the kernel has batch axes).
- `Normal`, `MultivariateNormalDiag` and the other `MultivariateNormalLinearOperator`s under a
  `GaussianSpread`: variances add, N(m, S) -> N(m, S + s^2 I).
- `Independent(d)` under a `FactorizedKernel` (Gaussian, Laplace): `Independent` of the spread of
  d, when d has a closed form (the kernel acts coordinate by coordinate).

Every spread here has the event shape of the distribution and TFP's broadcast batch shape (see
`spreadtf.spread`); `spread` has checked that the kernel's batch axes line up before it calls them.
"""

import functools

import tensorflow as tf
import tensorflow_probability as tfp

from spreadtf.spreads import kernel_interface
from spreadtf.spreads import kernels
from spreadtf.spreads import spread_distribution
from spreadtf.spreads import spread_registry

tfd = tfp.distributions

__all__ = []


def _checked_finite(points, what, validate_args):
  """`points`, asserted finite (naming `distribution`) when `validate_args` is set."""
  if not validate_args:
    return points
  with tf.control_dependencies([tf.debugging.assert_all_finite(
      points, message=f'`distribution` has non-finite {what} (NaN/inf).')]):
    return tf.identity(points)


@functools.singledispatch
def _point_mass(distribution):
  """Returns (loc, event_ndims) if `distribution` is a point mass, else None."""
  del distribution  # Not a point mass.
  return None


@_point_mass.register(tfd.Deterministic)
def _(distribution):
  return distribution.loc, 0


@_point_mass.register(tfd.VectorDeterministic)
def _(distribution):
  return distribution.loc, 1


@_point_mass.register(tfd.Independent)
def _(distribution):
  inner = _point_mass(distribution.distribution)
  if inner is None:
    return None
  loc, event_ndims = inner
  reinterpreted = tf.get_static_value(distribution.reinterpreted_batch_ndims)
  if reinterpreted is None:
    raise ValueError('`reinterpreted_batch_ndims` of an Independent point mass must be static.')
  return loc, event_ndims + int(reinterpreted)


@spread_registry.RegisterSpread(tfd.Deterministic, kernel_interface.SpreadKernel)
@spread_registry.RegisterSpread(tfd.VectorDeterministic, kernel_interface.SpreadKernel)
@spread_registry.RegisterSpread(tfd.Independent, kernel_interface.SpreadKernel)
def _spread_point_mass(distribution, kernel, validate_args):
  """A point mass at x spreads to K(. | x): the kernel at the point."""
  point = _point_mass(distribution)
  if point is None:
    return None
  loc, event_ndims = point
  return kernel.at(_checked_finite(loc, 'locations', validate_args), event_ndims=event_ndims)


@spread_registry.RegisterSpread(tfd.Empirical, kernel_interface.SpreadKernel)
def _spread_empirical(distribution, kernel, validate_args):
  """A data set spreads to the kernel mixture (1/N) sum_n K(. | x_n): the spread data."""
  event_ndims = spread_distribution.static_rank(distribution.event_shape,
                                                'the event shape of `distribution`')
  points = tf.convert_to_tensor(_checked_finite(distribution.samples, 'samples', validate_args))
  if spread_distribution.kernel_batch_shape(distribution, kernel).rank:
    # The scale's batch axes would line up with the points axis N of a mixture's components.
    return spread_distribution.SpreadDistribution(
        tfd.Empirical(points, event_ndims=event_ndims), kernel, validate_args=validate_args)
  components = kernel.at(points, event_ndims=event_ndims)          # batch [batch..., N]
  logits = tf.zeros(tf.shape(points)[:tf.rank(points) - event_ndims], dtype=points.dtype)
  return tfd.MixtureSameFamily(tfd.Categorical(logits=logits), components,
                               validate_args=kernel.validate_args)


# Gaussians under a Gaussian kernel: N(m, S) spread by N(0, s^2 I) is N(m, S + s^2 I). The kernel
# variance lines up with the trailing axes of `batch_shape + event_shape` (checked by `spread`),
# so per-dimension scales add elementwise and the TFP distributions built here broadcast their
# parameters' batch shapes themselves.


@spread_registry.RegisterSpread(tfd.Normal, kernels.GaussianSpread)
def _spread_normal(distribution, kernel, validate_args):
  del validate_args  # Nothing to check: the kernel checks its own scale.
  return tfd.Normal(distribution.loc,
                    tf.sqrt(tf.square(distribution.scale) + kernel.variance()),
                    validate_args=kernel.validate_args)


def _noise_variance_at(loc, kernel):
  """The kernel variance broadcast to `loc` `[batch..., D]` (the kernel may add batch axes)."""
  noise_var = kernel.variance()
  return tf.broadcast_to(noise_var,
                         tf.broadcast_dynamic_shape(tf.shape(loc), tf.shape(noise_var)))


@spread_registry.RegisterSpread(tfd.MultivariateNormalDiag, kernels.GaussianSpread)
def _spread_multivariate_normal_diag(distribution, kernel, validate_args):
  del validate_args  # Nothing to check: the kernel checks its own scale.
  loc = distribution.mean()
  return tfd.MultivariateNormalDiag(
      loc, tf.sqrt(tf.square(distribution.stddev()) + _noise_variance_at(loc, kernel)),
      validate_args=kernel.validate_args)


@spread_registry.RegisterSpread(tfd.MultivariateNormalLinearOperator, kernels.GaussianSpread)
def _spread_multivariate_normal(distribution, kernel, validate_args):
  del validate_args  # Nothing to check: the kernel checks its own scale.
  loc = distribution.mean()
  covariance = distribution.covariance() + tf.linalg.diag(_noise_variance_at(loc, kernel))
  return tfd.MultivariateNormalTriL(loc, tf.linalg.cholesky(covariance),
                                    validate_args=kernel.validate_args)


@spread_registry.RegisterSpread(tfd.Independent, kernels.FactorizedKernel)
def _spread_independent(distribution, kernel, validate_args):
  """Independent(d) spreads to Independent(p~_d) under a kernel that acts per coordinate.

  A factorised kernel's scale lines up with the trailing axes of `batch_shape + event_shape`,
  which reinterpreting batch axes as event axes leaves unchanged, so spreading commutes with
  `Independent`. Declines (None) when d has no closed form.
  """
  inner = spread_registry.closed_form_spread(distribution.distribution, kernel, validate_args)
  if inner is None:
    return None
  return tfd.Independent(inner, distribution.reinterpreted_batch_ndims,
                         validate_args=kernel.validate_args)
