"""The registry of closed-form spreads, looked up by (distribution type, kernel type).

`spreadtf.spread(distribution, kernel)` returns an exact spread distribution when one is
registered for the pair and a Monte Carlo `SpreadDistribution` otherwise. Registration is
`tfd.RegisterKL`'s design: a decorator keyed by two classes, found along both classes' method
resolution orders, so a closed form registered for a base class serves its subclasses and a user
can register a new distribution or kernel without editing spreadtf:

```python
@spreadtf.RegisterSpread(tfd.Normal, spreadtf.GaussianSpread)
def _spread_normal(distribution, kernel, validate_args):
  return tfd.Normal(distribution.loc,
                    tf.sqrt(tf.square(distribution.scale) + kernel.variance()))
```

Lookup. Every registration whose classes are in the MROs of `type(distribution)` and
`type(kernel)` is a candidate; candidates are tried in order of the summed distance along the two
MROs, ties going to the one closer to the distribution's type (as `tfd.kl_divergence` does). A
registered function may return None to decline an instance it cannot spread exactly (e.g. an
`Independent` whose inner distribution has no closed form): the next candidate is tried, and
`spread` falls back to Monte Carlo when all decline. As in TFP, classes are matched as they are:
TFP builds some distributions of non-`CompositeTensor` parts as private twins of the public class
(`tfd.Independent` of a `spreadtf.Pushforward` is an `_Independent`), which a registration on the
public class does not match.

The built-in closed forms are registered in `closed_forms.py`.
"""

import inspect

import tensorflow_probability as tfp

from spreadtf.spreads import kernel_interface

tfd = tfp.distributions

__all__ = ['RegisterSpread', 'closed_form_spread', 'registered_spreads']

# (distribution class, kernel class) -> spread function.
_CLOSED_FORMS = {}


class RegisterSpread:
  """Decorator registering the exact spread of a distribution type by a kernel type.

  The decorated function is called as `spread_fn(distribution, kernel, validate_args)`, with a
  `distribution` of the registered class (or a subclass), a `kernel` of the registered kernel class
  (or a subclass) whose batch axes `spread` has already checked against the distribution's, and
  the `validate_args` of `spread`. It returns the spread distribution p~(y) as a
  `tfd.Distribution` with the event shape of `distribution` and the broadcast batch shape (TFP's
  rule, see `spreadtf.spread`), or None to decline (see the module docstring).

  #### Examples

  ```python
  @spreadtf.RegisterSpread(tfd.Deterministic, MyKernel)
  def _spread_point(distribution, kernel, validate_args):
    return kernel.at(distribution.loc, event_ndims=0)
  ```
  """

  def __init__(self, distribution_cls, kernel_cls):
    """Names the pair of classes the decorated function spreads exactly.

    Args:
      distribution_cls: a subclass of `tfd.Distribution`.
      kernel_cls: a subclass of `spreadtf.SpreadKernel`.

    Raises:
      TypeError: if either is not such a class.
    """
    if not (inspect.isclass(distribution_cls) and issubclass(distribution_cls, tfd.Distribution)):
      raise TypeError(f'`distribution_cls` must be a subclass of tfd.Distribution, got '
                      f'{distribution_cls!r}.')
    if not (inspect.isclass(kernel_cls)
            and issubclass(kernel_cls, kernel_interface.SpreadKernel)):
      raise TypeError(f'`kernel_cls` must be a subclass of spreadtf.SpreadKernel, got '
                      f'{kernel_cls!r}.')
    self._key = (distribution_cls, kernel_cls)

  def __call__(self, spread_fn):
    """Registers `spread_fn` for the pair.

    Args:
      spread_fn: callable `(distribution, kernel, validate_args) -> tfd.Distribution or None`.

    Returns:
      `spread_fn`, unchanged.

    Raises:
      TypeError: if `spread_fn` is not callable.
      ValueError: if a function is already registered for the pair.
    """
    if not callable(spread_fn):
      raise TypeError(f'the closed-form spread must be callable, got {spread_fn!r}.')
    if self._key in _CLOSED_FORMS:
      registered = _CLOSED_FORMS[self._key]
      raise ValueError(
          f'a closed-form spread of {self._key[0].__name__} by {self._key[1].__name__} is already '
          f'registered ({registered.__module__}.{registered.__qualname__}); register a subclass '
          'of either class instead.')
    _CLOSED_FORMS[self._key] = spread_fn
    return spread_fn


def registered_spreads(distribution_type, kernel_type):
  """The registered spread functions for a pair of types, in the order `spread` tries them.

  Args:
    distribution_type: a `tfd.Distribution` subclass.
    kernel_type: a `SpreadKernel` subclass.

  Returns:
    A list of the registered functions whose classes are in the two MROs, by increasing summed
    MRO distance, ties by the distance to `distribution_type`.
  """
  candidates = []
  for distribution_distance, distribution_cls in enumerate(inspect.getmro(distribution_type)):
    for kernel_distance, kernel_cls in enumerate(inspect.getmro(kernel_type)):
      spread_fn = _CLOSED_FORMS.get((distribution_cls, kernel_cls))
      if spread_fn is not None:
        candidates.append((distribution_distance + kernel_distance, distribution_distance,
                           spread_fn))
  candidates.sort(key=lambda candidate: candidate[:2])
  return [spread_fn for _, _, spread_fn in candidates]


def closed_form_spread(distribution, kernel, validate_args=False):
  """The exact spread of `distribution` by `kernel` if a registered closed form gives one.

  Args:
    distribution: a `tfd.Distribution` whose batch shape lines up with the kernel's (checked by
      `spread`).
    kernel: a `SpreadKernel`.
    validate_args: Python bool, passed to the spread functions.

  Returns:
    A `tfd.Distribution`, or None when no registered function accepts the pair.
  """
  # `__class__` rather than `type()`, as in `tfd.kl_divergence`, for objects that override it.
  for spread_fn in registered_spreads(distribution.__class__, kernel.__class__):
    spread_distribution = spread_fn(distribution, kernel, validate_args)
    if spread_distribution is not None:
      return spread_distribution
  return None
