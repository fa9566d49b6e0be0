"""`spread(distribution, kernel)`: the spread distribution p~(y) = integral K(y | x) p(x) dx.

An exact closed form where one is registered for the pair of types (`spread_registry`; the
built-in ones are in `closed_forms.py`), otherwise a `SpreadDistribution`, whose `sample` is exact
and whose `log_prob` is a Monte Carlo estimate over base samples.

#### References

[1] Mingtian Zhang, Peter Hayes, Tom Bird, Raza Habib, David Barber. Spread Divergence.
    In International Conference on Machine Learning (ICML), 2020. https://arxiv.org/abs/1811.08968
"""

import tensorflow_probability as tfp

# Imported for its registrations: `spread` finds the built-in closed forms through the registry.
from spreadtf.spreads import closed_forms  # noqa: F401
from spreadtf.spreads import kernel_interface
from spreadtf.spreads import spread_distribution
from spreadtf.spreads import spread_registry

tfd = tfp.distributions

__all__ = ['spread']


def spread(distribution, kernel, num_samples=1000, seed=None, validate_args=False):
  """The spread distribution p~(y) = integral K(y - x) p(x) dx.

  Exact closed forms are looked up in a registry by the types of `distribution` and `kernel`,
  along both classes' MROs (`RegisterSpread`, like `tfd.RegisterKL`). Built in
  (`closed_forms.py`):
    * `tfd.Deterministic`, `tfd.VectorDeterministic` (or `Independent` of them): the kernel at
      the point, `kernel.at(loc, event_ndims)`.
    * `tfd.Empirical` with points x_1..x_N: the mixture (1/N) sum_n K(y - x_n), the spread
      empirical data distribution, as a `tfd.MixtureSameFamily` (as a `SpreadDistribution` that
      sums over all N points, also exact, when the kernel scale has batch axes).
    * `tfd.Normal`, `tfd.MultivariateNormal*` under a `GaussianSpread`: variances add,
      N(m, S) -> N(m, S + s^2 I).
    * `tfd.Independent` of any of these under a `GaussianSpread` or `LaplaceSpread` (any
      `FactorizedKernel`): `Independent` of the inner spread.
  Anything else (another kernel, a `Pushforward` generator, any sampler) gives a
  `SpreadDistribution` with exact `sample` and a Monte Carlo `log_prob` (see its docstring for the
  bias).

  Shapes follow TFP's broadcasting rule. The result has the `event_shape` of `distribution`, and
  the kernel `scale` lines up with the trailing axes of `batch_shape + event_shape`, like the
  `scale` of `tfd.Normal(loc, scale)`: its last `len(event_shape)` axes must broadcast to the event
  shape, and any axes before those are the kernel's batch axes. The result's `batch_shape` is the
  broadcast of the two batch shapes: `Normal([0., 1.], 1.)` spread by `GaussianSpread([0.5, 1.])`
  is `Normal([0., 1.], sqrt([1.25, 2.]))`, and `Normal(zeros([1, 5]), 1.)` spread by a scale of
  shape `[3, 1]` has batch shape `[3, 5]`.

  Args:
    distribution: the base `tfd.Distribution` p(x).
    kernel: a `SpreadKernel` (`GaussianSpread`, `LaplaceSpread`, a learned kernel, or yours).
    num_samples: base samples per `log_prob` call, only used by the Monte Carlo fallback.
    seed: seed for the Monte Carlo fallback's base samples (see `SpreadDistribution`).
    validate_args: Python bool: check at run time that point-mass locations and empirical samples
      are finite; also passed to the fallback `SpreadDistribution`.

  Returns:
    A `tfd.Distribution` over y.

  Raises:
    TypeError: if `distribution` is not a `tfd.Distribution` or `kernel` not a `SpreadKernel`.
    ValueError: if the kernel scale does not broadcast to the event shape of `distribution`, or
      the batch shapes of `distribution` and the kernel do not broadcast.
    tf.errors.InvalidArgumentError: with `validate_args=True`, on non-finite point-mass locations
      or empirical samples.

  #### Examples

  ```python
  data = tfd.Empirical(x_train, event_ndims=1)            # no density
  spread_data = spreadtf.spread(data, spreadtf.GaussianSpread(0.5))
  spread_data.log_prob(y)                                 # exact Gaussian-mixture density
  ```

  #### References

  [1] Mingtian Zhang, Peter Hayes, Tom Bird, Raza Habib, David Barber. Spread Divergence.
      ICML 2020. https://arxiv.org/abs/1811.08968
  """
  if not isinstance(distribution, tfd.Distribution):
    raise TypeError(
        f'`distribution` must be a tfd.Distribution, got {type(distribution).__name__}.')
  kernel_interface.check_spread_kernel(kernel)
  spread_distribution.spread_batch_shape(distribution, kernel)
  closed_form = spread_registry.closed_form_spread(distribution, kernel, validate_args)
  if closed_form is not None:
    return closed_form
  return spread_distribution.SpreadDistribution(distribution, kernel, num_samples=num_samples,
                                                seed=seed, validate_args=validate_args)
