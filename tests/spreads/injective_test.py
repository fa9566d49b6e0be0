"""Tests for the injective spread kernel (spreadtf/spreads/injective.py)."""

from absl.testing import parameterized
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from spreadtf.spreads import injective
from spreadtf.spreads import kernels
from spreadtf.spreads import lowrank

tfd = tfp.distributions

_IMAGE = [6, 6, 3]
_VECTOR = [10]


def _make_kernel(event_shape=None, **overrides):
  """A small injective spread around a Gaussian base kernel."""
  args = dict(base_kernel=kernels.GaussianSpread(0.5),
              event_shape=_IMAGE if event_shape is None else event_shape,
              hidden_channels=8, seed=1)
  args.update(overrides)
  return injective.InjectiveSpread(**args)


def _reshaped_norms(kernel):
  return [np.linalg.svd(np.reshape(w.numpy(), [-1, w.shape[-1]]), compute_uv=False)[0]
          for w in kernel.normalized_kernels()]


class InjectiveSpreadTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(
      dict(testcase_name='image', event=_IMAGE, batch=[2, 3]),
      dict(testcase_name='unbatched_image', event=_IMAGE, batch=[]),
      dict(testcase_name='vector', event=_VECTOR, batch=[5]),
  )
  def test_shapes_and_log_prob_is_base_at_transform(self, event, batch):
    kernel = _make_kernel(event, update_power_iteration=False)
    loc = tf.random.stateless_normal(batch + event, seed=[1, 1])
    y = tf.random.stateless_normal(batch + event, seed=[1, 2])
    dist = kernel.at(loc, event_ndims=len(event))
    self.assertEqual(dist.batch_shape, batch)
    self.assertEqual(dist.event_shape, event)
    self.assertEqual(dist.log_prob(y).shape, batch)
    self.assertEqual(kernel.sample_spread(loc, seed=[3, 4]).shape, batch + event)
    expected = tfd.Independent(tfd.Normal(kernel.transform(loc), 0.5), len(event)).log_prob(y)
    self.assertAllClose(expected, dist.log_prob(y))

  def test_base_scale_with_batch_axes_broadcasts_as_in_tfp(self):
    # A base scale [2, 1] over vector events [10]: kernel batch [2], broadcast with the batch [3, 1]
    # of the locations to [3, 2], as tfd.Normal(f(loc), scale) would.
    scale = np.array([[0.5], [2.]], np.float32)
    kernel = _make_kernel(_VECTOR, base_kernel=kernels.GaussianSpread(scale),
                          update_power_iteration=False)
    loc = tf.random.stateless_normal([3, 1] + _VECTOR, seed=[1, 1])
    y = tf.random.stateless_normal([3, 2] + _VECTOR, seed=[1, 2])
    dist = kernel.at(loc)
    self.assertEqual(dist.batch_shape, [3, 2])
    self.assertEqual(kernel.batch_shape_at(loc.shape), [3, 2])
    self.assertEqual(kernel.batch_shape_at(_VECTOR), [2])
    expected = tfd.Independent(tfd.Normal(kernel.transform(loc), scale), 1).log_prob(y)
    self.assertAllClose(expected, dist.log_prob(y))
    with self.assertRaisesRegex(ValueError, 'does not end with the event shape'):
      kernel.batch_shape_at([3, 4])

  def test_sample_spread_is_transform_plus_base_noise(self):
    kernel = _make_kernel(update_power_iteration=False)
    x = tf.random.stateless_normal([4] + _IMAGE, seed=[2, 2])
    base = kernel.base_kernel
    self.assertAllClose(base.sample_spread(kernel.transform(x), seed=[5, 6]),
                        kernel.sample_spread(x, seed=[5, 6]))
    self.assertAllClose(kernel.transform(x), kernel.spread_mean(x))
    # Monte Carlo: the spread samples average to f(x) (s = 0.5, n = 2000: 5 standard errors).
    draws = kernel.sample_spread(tf.broadcast_to(x[0], [2000] + _IMAGE), seed=[5, 7])
    self.assertAllClose(kernel.spread_mean(x[:1])[0], tf.reduce_mean(draws, axis=0),
                        atol=5 * 0.5 / np.sqrt(2000))

  @parameterized.named_parameters(
      dict(testcase_name='conv_code_norm', event=_IMAGE, operator_bound=False),
      dict(testcase_name='conv_operator_bound', event=_IMAGE, operator_bound=True),
      dict(testcase_name='dense', event=_VECTOR, operator_bound=False),
  )
  def test_spectral_normalisation_holds_after_updates(self, event, operator_bound):
    c = 0.1
    kernel = _make_kernel(event, lipschitz=c, operator_bound=operator_bound)
    k = 3 if len(event) == 3 else 1
    target = c / k if operator_bound else c
    x = tf.random.stateless_normal([8] + event, seed=[3, 3])
    initial = [np.linalg.norm(w.numpy()) for w in kernel.kernels]
    for step in range(3):
      # Ascend |g(x)|^2 with a large step: raw weights grow and rotate.
      with tf.GradientTape() as tape:
        loss = -tf.reduce_sum(tf.square(kernel.residual(x)))
      grads = tape.gradient(loss, kernel.trainable_variables)
      for var, grad in zip(kernel.trainable_variables, grads, strict=True):
        var.assign_sub(50. * grad + 0.05 * (step + 1) * tf.sign(var))
      kernel.transform(x)  # A forward pass refreshes the power-iteration state.
      self.assertAllClose([target] * 3, _reshaped_norms(kernel), rtol=1e-2)
      operator_norms = kernel.layer_operator_norms(iterations=100)
      if operator_bound or len(event) == 1:
        self.assertAllLessEqual(operator_norms, c * 1.01)
      else:
        self.assertAllLessEqual(operator_norms, k * c * 1.01)
      estimate = kernel.lipschitz_estimate(iterations=100)
      self.assertLessEqual(estimate, kernel.lipschitz_upper_bound() * 1.001)
      self.assertLessEqual(kernel.lipschitz_upper_bound(), (k * target) ** 3 * 1.05)
      self.assertLess(kernel.lipschitz_upper_bound(), 1.)
    final = [np.linalg.norm(w.numpy()) for w in kernel.kernels]
    self.assertAllGreater(np.array(final) / np.array(initial), 2.)  # The raw weights did grow.

  @parameterized.named_parameters(
      dict(testcase_name='code_defaults', event=_IMAGE, lipschitz=0.1, operator_bound=False),
      dict(testcase_name='image_near_one', event=_IMAGE, lipschitz=0.9, operator_bound=True),
      dict(testcase_name='vector_near_one', event=_VECTOR, lipschitz=0.9, operator_bound=False),
  )
  def test_inverse_recovers_input(self, event, lipschitz, operator_bound):
    kernel = _make_kernel(event, lipschitz=lipschitz, operator_bound=operator_bound)
    for index, bias in enumerate(kernel.biases):
      bias.assign(tf.random.stateless_normal(bias.shape, seed=[7, index]))
    x = tf.random.stateless_normal([3] + event, seed=[4, 4])
    y = kernel.transform(x, update=False)
    self.assertGreater(tf.reduce_max(tf.abs(y - x)), 0.1)  # f is far from the identity.
    self.assertAllClose(x, kernel.inverse(y, iterations=60), atol=1e-5)

  def test_gradients_flow_to_network_and_base_variables(self):
    base = lowrank.LowRankGaussianSpread(0.5, rank=2, event_size=int(np.prod(_IMAGE)), norm=1.,
                                         seed=2)
    kernel = _make_kernel(base_kernel=base)
    loc = tf.random.stateless_normal([4] + _IMAGE, seed=[5, 5])
    y = tf.random.stateless_normal([4] + _IMAGE, seed=[5, 6])
    self.assertLen(kernel.trainable_variables, 2 * 3 + 1)
    with tf.GradientTape() as tape:
      loss = -tf.reduce_sum(kernel.at(loc, event_ndims=3).log_prob(y))
    grads = tape.gradient(loss, kernel.trainable_variables)
    for var, grad in zip(kernel.trainable_variables, grads, strict=True):
      self.assertIsNotNone(grad, var.name)
      self.assertAllEqual(tf.math.is_finite(grad), tf.ones_like(grad, tf.bool))
      self.assertGreater(tf.reduce_max(tf.abs(grad)), 0., var.name)

  def test_power_iteration_state_is_non_trainable_and_updated_on_demand(self):
    kernel = _make_kernel(update_power_iteration=False)
    for var in kernel.power_vectors:
      self.assertFalse(var.trainable)
      self.assertNotIn(var.ref(), {v.ref() for v in kernel.trainable_variables})
    x = tf.random.stateless_normal([2] + _IMAGE, seed=[6, 6])
    kernel.kernels[0].assign(tf.random.stateless_normal(kernel.kernels[0].shape, seed=[6, 7]))
    before = kernel.power_vectors[0].numpy()
    kernel.at(x, event_ndims=3).log_prob(x)
    self.assertAllEqual(before, kernel.power_vectors[0])
    kernel.update_power_iteration = True
    kernel.at(x, event_ndims=3).log_prob(x)
    self.assertNotAllClose(before, kernel.power_vectors[0])
    kernel.power_iterate(iterations=100)
    self.assertAllClose([0.1] * 3, _reshaped_norms(kernel), rtol=1e-3)

  # Slow: XLA compiles the conv power iteration (several seconds).
  @pytest.mark.slow
  def test_tf_function_and_jit_agree_with_eager(self):
    kernel = _make_kernel()
    loc = tf.random.stateless_normal([3] + _IMAGE, seed=[8, 8])
    y = tf.random.stateless_normal([3] + _IMAGE, seed=[8, 9])
    kernel.power_iterate(iterations=200)  # Converged state: updates no longer move f.

    def log_prob(loc, y):
      return kernel.at(loc, event_ndims=3).log_prob(y)

    expected = log_prob(loc, y)
    for jit in (False, True):
      self.assertAllClose(expected, tf.function(log_prob, jit_compile=jit)(loc, y), rtol=1e-5)

  def test_checkpoint_round_trip_restores_weights_and_power_state(self):
    kernel = _make_kernel()
    x = tf.random.stateless_normal([2] + _IMAGE, seed=[9, 9])
    kernel.kernels[1].assign(2. * kernel.kernels[1] + 0.01)
    expected = kernel.transform(x)  # Also moves the power-iteration state.
    path = tf.train.Checkpoint(spread=kernel).write(self.create_tempdir().full_path + '/ckpt')
    restored = _make_kernel(seed=5)
    tf.train.Checkpoint(spread=restored).read(path).assert_consumed()
    for a, b in zip(kernel.variables, restored.variables, strict=True):
      self.assertAllEqual(a, b)
    self.assertAllClose(kernel.transform(x, update=False), restored.transform(x, update=False))
    self.assertAllClose(expected, restored.transform(x), atol=1e-5)

  def test_seeds_are_reproducible(self):
    a, b, c = _make_kernel(seed=3), _make_kernel(seed=3), _make_kernel(seed=4)
    self.assertAllEqual(a.kernels[1], b.kernels[1])
    self.assertNotAllClose(a.kernels[1], c.kernels[1])

  @parameterized.named_parameters(
      dict(testcase_name='code_defaults', event=_IMAGE, lipschitz=0.1, operator_bound=False,
           valid=True),
      dict(testcase_name='conv_3c_above_one', event=_IMAGE, lipschitz=0.5, operator_bound=False,
           valid=False),
      dict(testcase_name='conv_operator_bound', event=_IMAGE, lipschitz=0.5, operator_bound=True,
           valid=True),
      dict(testcase_name='dense', event=_VECTOR, lipschitz=0.9, operator_bound=False, valid=True),
  )
  def test_is_valid_spread_only_when_lipschitz_is_guaranteed(self, event, lipschitz,
                                                             operator_bound, valid):
    kernel = _make_kernel(event, lipschitz=lipschitz, operator_bound=operator_bound)
    self.assertEqual(valid, kernel.is_valid_spread)
    if valid:
      self.assertLess(kernel.lipschitz_upper_bound(), 1.)

  def test_invalid_arguments_raise(self):
    for lipschitz in (0., 1., 1.5, -0.1):
      with self.assertRaisesRegex(ValueError, 'lipschitz'):
        _make_kernel(lipschitz=lipschitz)
    with self.assertRaisesRegex(ValueError, 'event_shape'):
      _make_kernel(event_shape=[4, 4])
    with self.assertRaisesRegex(ValueError, 'num_layers'):
      _make_kernel(num_layers=0)
    with self.assertRaisesRegex(ValueError, 'power_iterations'):
      _make_kernel(power_iterations=0)
    with self.assertRaises(TypeError):
      _make_kernel(base_kernel=object())
    kernel = _make_kernel()
    with self.assertRaisesRegex(ValueError, 'event shape'):
      kernel.at(tf.zeros([2, 5, 5, 3]), event_ndims=3)
    with self.assertRaisesRegex(ValueError, 'event_ndims'):
      kernel.at(tf.zeros([2] + _IMAGE), event_ndims=1)
    with self.assertRaises(TypeError):
      kernel.sample_spread(tf.zeros([2] + _IMAGE, tf.int32), seed=[1, 2])


if __name__ == '__main__':
  tf.test.main()
