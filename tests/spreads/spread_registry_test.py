"""Tests for the closed-form registry of `spread` (spreadtf/spreads/spread_registry.py).

The registrations below are a user's: new classes of this file registered at import, as a user
module would, so they never change the closed forms other tests see.
"""

from absl.testing import parameterized
import numpy as np
from scipy import special
from scipy import stats
import tensorflow as tf
import tensorflow_probability as tfp

from spreadtf.spreads import kernel_interface
from spreadtf.spreads import kernels
from spreadtf.spreads import spread_distribution
from spreadtf.spreads import spread_registry
from spreadtf.spreads import spreading

tfd = tfp.distributions


class _GaussianMixture(tfd.MixtureSameFamily):
  """A user's distribution type: a mixture of Normals."""


class _SubMixture(_GaussianMixture):
  """A subclass, which must find its parent's closed form through the MRO."""


class _SubGaussian(kernels.GaussianSpread):
  """A subclass of a kernel, likewise."""


@spread_registry.RegisterSpread(_GaussianMixture, kernels.GaussianSpread)
def _spread_gaussian_mixture(distribution, kernel, validate_args):
  """sum_k w_k N(m_k, s_k^2) spread by N(0, s^2) is sum_k w_k N(m_k, s_k^2 + s^2): exact."""
  del validate_args  # Unused.
  components = distribution.components_distribution
  if not isinstance(components, tfd.Normal):
    return None  # Decline: the next registration along the MROs, or Monte Carlo.
  spread_components = tfd.Normal(
      components.loc, tf.sqrt(tf.square(components.scale) + kernel.variance()[..., tf.newaxis]))
  return tfd.MixtureSameFamily(distribution.mixture_distribution, spread_components)


def _mixture(cls=_GaussianMixture, components=None):
  """Two-component mixtures, batch [2]: weights [0.3, 0.7], means [[-1, 2], [0, 1]], sds 0.5, 1."""
  components = components or tfd.Normal([[-1., 2.], [0., 1.]], [0.5, 1.])
  return cls(tfd.Categorical(probs=[0.3, 0.7]), components)


def _mixture_log_prob(y, noise_var):
  """log p~(y) of `_mixture()` spread by Gaussian noise of variance `noise_var`, per member."""
  means = np.array([[-1., 2.], [0., 1.]])
  stddevs = np.sqrt(np.array([0.25, 1.]) + noise_var)
  per_component = stats.norm(means, stddevs).logpdf(np.asarray(y)[..., None])  # [..., 2, 2]
  return special.logsumexp(per_component + np.log([0.3, 0.7]), axis=-1)


# The tie-break: two registrations at the same summed MRO distance from (_LeafNormal, _LeafKernel).
class _BaseNormal(tfd.Normal):
  pass


class _LeafNormal(_BaseNormal):
  pass


class _BaseKernel(kernels.LaplaceSpread):
  pass


class _LeafKernel(_BaseKernel):
  pass


@spread_registry.RegisterSpread(_LeafNormal, _BaseKernel)
def _closer_to_the_distribution(distribution, kernel, validate_args):
  del distribution, kernel, validate_args  # Only its place in the order is tested.


@spread_registry.RegisterSpread(_BaseNormal, _LeafKernel)
def _closer_to_the_kernel(distribution, kernel, validate_args):
  del distribution, kernel, validate_args  # Only its place in the order is tested.


class RegisterSpreadTest(tf.test.TestCase, parameterized.TestCase):

  def test_registered_closed_form_is_used(self):
    spread = spreading.spread(_mixture(), kernels.GaussianSpread(0.5))
    self.assertIsInstance(spread, tfd.MixtureSameFamily)
    self.assertNotIsInstance(spread, spread_distribution.SpreadDistribution)
    y = np.array([[0.3, -1.], [2., 1.5]], np.float32)
    self.assertAllClose(spread.log_prob(y), _mixture_log_prob(y, 0.25), rtol=1e-5)

  def test_subclasses_of_both_registered_types_find_it_through_the_mro(self):
    spread = spreading.spread(_mixture(_SubMixture), _SubGaussian(0.5))
    self.assertNotIsInstance(spread, spread_distribution.SpreadDistribution)
    self.assertAllClose(spread.log_prob([0.3, -1.]), _mixture_log_prob([0.3, -1.], 0.25),
                        rtol=1e-5)

  def test_built_in_independent_closed_form_composes_with_a_user_registration(self):
    # Independent of the user's mixture under a factorised kernel: Independent of its closed form.
    spread = spreading.spread(tfd.Independent(_mixture(), 1), kernels.GaussianSpread(0.5))
    self.assertIsInstance(spread, tfd.Independent)
    y = np.array([0.3, -1.], np.float32)
    self.assertAllClose(spread.log_prob(y), _mixture_log_prob(y, 0.25).sum(), rtol=1e-5)

  def test_unregistered_pair_falls_back_to_monte_carlo(self):
    spread = spreading.spread(_mixture(), kernels.LaplaceSpread(0.5), num_samples=10)
    self.assertIsInstance(spread, spread_distribution.SpreadDistribution)

  def test_declining_closed_form_falls_back_to_monte_carlo(self):
    laplace_mixture = _mixture(components=tfd.Laplace([[-1., 2.], [0., 1.]], 1.))
    spread = spreading.spread(laplace_mixture, kernels.GaussianSpread(0.5), num_samples=10)
    self.assertIsInstance(spread, spread_distribution.SpreadDistribution)

  def test_candidates_are_ordered_by_mro_distance_then_by_the_distribution(self):
    candidates = spread_registry.registered_spreads(_LeafNormal, _LeafKernel)
    # Both at summed distance 1; TFP's tie-break prefers the registration closer to the
    # distribution. Nothing is registered for tfd.Normal under a Laplace kernel, so that is all.
    self.assertEqual(candidates, [_closer_to_the_distribution, _closer_to_the_kernel])
    self.assertEqual(spread_registry.registered_spreads(_SubMixture, _SubGaussian)[0],
                     _spread_gaussian_mixture)

  def test_bad_registrations_raise(self):
    with self.assertRaisesRegex(ValueError, 'already registered .*_spread_gaussian_mixture'):
      spread_registry.RegisterSpread(_GaussianMixture, kernels.GaussianSpread)(lambda *args: None)
    with self.assertRaisesRegex(TypeError, '`distribution_cls` must be a subclass of '
                                'tfd.Distribution'):
      spread_registry.RegisterSpread(kernels.GaussianSpread, kernels.GaussianSpread)
    with self.assertRaisesRegex(TypeError, '`kernel_cls` must be a subclass of '
                                'spreadtf.SpreadKernel'):
      spread_registry.RegisterSpread(tfd.Normal, tfd.Normal)
    with self.assertRaisesRegex(TypeError, 'must be callable'):
      spread_registry.RegisterSpread(_SubMixture, kernel_interface.SpreadKernel)('not callable')


if __name__ == '__main__':
  tf.test.main()
