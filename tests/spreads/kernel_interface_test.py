"""Tests for the spread-kernel interface (spreadtf/spreads/kernel_interface.py)."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from spreadtf.spreads import divergence
from spreadtf.spreads import injective
from spreadtf.spreads import kernel_interface
from spreadtf.spreads import kernels
from spreadtf.spreads import lowrank
from spreadtf.spreads import spread_distribution
from spreadtf.spreads import spreading
from spreadtf.spreads import stationary

tfd = tfp.distributions


class _ShiftedGaussian(kernel_interface.SpreadKernel):
  """A user's kernel: K(y | x) = N(y | x + 1, s^2), a Gaussian after the injective x -> x + 1."""

  def __init__(self, scale):
    super().__init__()
    self._base = kernels.GaussianSpread(scale)

  dtype = property(lambda self: self._base.dtype)
  is_valid_spread = property(lambda self: True)

  def at(self, loc, event_ndims=1):
    return self._base.at(self.spread_mean(loc), event_ndims)

  def batch_shape_at(self, loc_shape, event_ndims=1):
    return self._base.batch_shape_at(loc_shape, event_ndims)

  def sample_spread(self, x, seed=None):
    return self._base.sample_spread(self.spread_mean(x), seed=seed)

  def spread_mean(self, x):
    return tf.convert_to_tensor(x, self.dtype) + 1.


class _DuckTypedKernel(tf.Module):
  """What the library used to accept by duck typing: the methods, not the interface."""
  dtype = tf.float32
  is_valid_spread = True
  at = batch_shape_at = sample_spread = spread_mean = staticmethod(lambda *args, **kwargs: None)


class SpreadKernelTest(tf.test.TestCase, parameterized.TestCase):

  def test_user_kernel_gets_closed_forms_and_monte_carlo_spreads(self):
    kernel = _ShiftedGaussian(0.5)
    # A point mass at x spreads to the kernel at x (registered for every SpreadKernel).
    point = spreading.spread(tfd.Deterministic(0.3), kernel)
    self.assertAllClose(point.log_prob(2.), tfd.Normal(1.3, 0.5).log_prob(2.))
    # Spread KL of two points: the shift cancels, (d / s)^2 / 2 exactly.
    kl = divergence.spread_kl(tfd.Deterministic(0.3), tfd.Deterministic(1.7), kernel)
    self.assertAllClose(kl, 1.4**2 / (2 * 0.25))
    # No closed form for a Normal under this kernel: Monte Carlo, whose estimate matches the exact
    # N(1, 1 + 0.25) to well within its error (S = 20000 draws; relative error of the mean of
    # K(y - x) at |y - 1| <= 1 is below 0.01).
    spread = spreading.spread(tfd.Normal(0., 1.), kernel, num_samples=20000, seed=[1, 2])
    self.assertIsInstance(spread, spread_distribution.SpreadDistribution)
    y = np.array([0., 1., 2.], np.float32)
    self.assertAllClose(spread.log_prob(y), tfd.Normal(1., np.sqrt(1.25)).log_prob(y), atol=0.03)

  def test_object_without_the_interface_raises_type_error_saying_what_to_implement(self):
    message = (r'`kernel` must be a spreadtf.SpreadKernel, got _DuckTypedKernel\. .*subclass '
               r'spreadtf.SpreadKernel and implement at, batch_shape_at, dtype, is_valid_spread, '
               r'sample_spread, spread_mean')
    with self.assertRaisesRegex(TypeError, message):
      kernel_interface.check_spread_kernel(_DuckTypedKernel())
    with self.assertRaisesRegex(TypeError, message):
      spreading.spread(tfd.Deterministic(0.), _DuckTypedKernel())
    with self.assertRaisesRegex(TypeError, '`base_kernel` must be a spreadtf.SpreadKernel'):
      injective.InjectiveSpread(_DuckTypedKernel(), event_shape=[3])

  def test_subclass_missing_a_method_cannot_be_built(self):

    class NoSpreadMean(_ShiftedGaussian):
      spread_mean = kernel_interface.SpreadKernel.spread_mean

    with self.assertRaisesRegex(TypeError, 'abstract method.*spread_mean'):
      NoSpreadMean(0.5)
    with self.assertRaisesRegex(TypeError, 'abstract'):
      kernel_interface.SpreadKernel()

  def test_library_kernels_are_shaped_by_what_they_share(self):
    gaussian = kernels.GaussianSpread(0.5)
    low_rank = lowrank.LowRankGaussianSpread(0.5, rank=1, event_size=3, seed=0)
    injective_kernel = injective.InjectiveSpread(gaussian, event_shape=[3], hidden_channels=2,
                                                 seed=0)
    for kernel in (gaussian, kernels.LaplaceSpread(0.5), low_rank, injective_kernel):
      self.assertIsInstance(kernel, kernel_interface.SpreadKernel)
      self.assertTrue(kernel.is_valid_spread)
    self.assertIsInstance(low_rank, stationary.StationaryKernel)
    self.assertNotIsInstance(low_rank, kernels.FactorizedKernel)
    self.assertNotIsInstance(injective_kernel, stationary.StationaryKernel)

  def test_validate_args_is_kept_and_an_injective_kernel_takes_its_base_kernels(self):
    base = kernels.GaussianSpread(0.5, validate_args=True)
    self.assertTrue(base.validate_args)
    self.assertFalse(_ShiftedGaussian(0.5).validate_args)
    self.assertTrue(injective.InjectiveSpread(base, event_shape=[3], seed=0).validate_args)


if __name__ == '__main__':
  tf.test.main()
