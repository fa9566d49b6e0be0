"""Tests of spread learning: the schedule, and spread phases that ascend at a fixed model."""

import functools

from absl.testing import parameterized
import gin
import keras
import numpy as np
import tensorflow as tf

from spreadtf.data import fake
from spreadtf.models import celeba_conv
from spreadtf.models import mlp
from spreadtf.models import spread_vae
from spreadtf.spreads import injective
from spreadtf.spreads import kernels
from spreadtf.spreads import lowrank
from spreadtf.training import spread_learning

_IMAGE_SHAPE = (8, 8, 1)
_NORM = 0.1
_LIPSCHITZ = 0.1


def _low_rank():
  return lowrank.LowRankGaussianSpread(0.2, rank=3, event_size=64, event_ndims=3, norm=_NORM,
                                       seed=0)


def _injective():
  return injective.InjectiveSpread(kernels.GaussianSpread(0.2), event_shape=_IMAGE_SHAPE,
                                   hidden_channels=4, num_layers=2, lipschitz=_LIPSCHITZ, seed=0)


def _make_model(spread_fn, spread_optimizer=True, low_variance=False):
  """A built tiny MLP SpreadVAE, compiled with an Adam spread optimizer if asked."""
  keras.utils.set_random_seed(0)
  model = spread_vae.make_spread_vae(
      _IMAGE_SHAPE, 2, functools.partial(mlp.make_encoder, hidden_units=(16,)),
      functools.partial(mlp.make_decoder, hidden_units=(16,)), spread_fn,
      low_variance=low_variance, seed=3)
  model(tf.zeros((1,) + _IMAGE_SHAPE))
  spread_opt = None
  if spread_optimizer:
    spread_opt = keras.optimizers.Adam(1e-3)
    spread_opt.build(model.spread.trainable_variables)
  model.compile(optimizer=keras.optimizers.Adam(1e-3), spread_optimizer=spread_opt)
  return model


def _dataset():
  return tf.data.Dataset.from_tensor_slices(fake.make_images(64, _IMAGE_SHAPE)).shuffle(
      64, seed=0).batch(16, drop_remainder=True).repeat()


class SpreadScheduleTest(tf.test.TestCase, parameterized.TestCase):

  def test_is_due_at_start_step_and_every_period_after(self):
    schedule = spread_learning.SpreadSchedule(start_step=3, period=2, num_steps=5)
    self.assertEqual([s for s in range(10) if schedule.is_due(s)], [3, 5, 7, 9])

  @parameterized.named_parameters(
      ('negative_start', dict(start_step=-1), 'start_step'),
      ('zero_period', dict(period=0), 'period'),
      ('zero_steps', dict(num_steps=0), 'num_steps'),
      ('float_period', dict(period=1.5), 'period'),
      ('bool_steps', dict(num_steps=True), 'num_steps'))
  def test_bad_values_are_errors_naming_the_field(self, kwargs, field):
    with self.assertRaisesRegex(ValueError, field):
      spread_learning.SpreadSchedule(**kwargs)


class SpreadPhaseTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  @parameterized.named_parameters(
      ('low_rank', _low_rank, False), ('low_rank_low_variance', _low_rank, True),
      ('injective', _injective, False))
  def test_phase_raises_objective_and_leaves_model_fixed(self, spread_fn, low_variance):
    model = _make_model(spread_fn, low_variance=low_variance)
    strategy = tf.distribute.get_strategy()
    runner = spread_learning.SpreadPhaseRunner(model, strategy)
    iterator = iter(_dataset())
    probe = next(iter(_dataset()))
    weights = [w.numpy() for w in model.weights]
    spread_before = [v.numpy() for v in model.spread.trainable_variables]

    logs = runner(iterator, 30, probe)

    self.assertEqual(logs['spread_steps'], 30)
    self.assertTrue(np.isfinite(logs['objective_before']))
    # The ascent on the spread raises the model's loss (the spread-KL upper bound) at fixed model.
    self.assertGreater(logs['objective_after'], logs['objective_before'])
    for old, new in zip(weights, model.weights, strict=True):
      self.assertAllEqual(old, new)  # Networks, BatchNorm statistics: untouched.
    moved = [float(np.abs(old - new.numpy()).max())
             for old, new in zip(spread_before, model.spread.trainable_variables, strict=True)]
    self.assertGreater(max(moved), 0.)
    # The probe is a deterministic function of the parameters (common random numbers); an
    # injective spread's forward pass also refines its power-iteration state, so it drifts a bit.
    self.assertAllClose(runner.probe(probe), logs['objective_after'],
                        rtol=1e-4 if spread_fn is _injective else 1e-6)

  def test_constraints_hold_after_a_phase(self):
    strategy = tf.distribute.get_strategy()
    for spread_fn in (_low_rank, _injective):
      model = _make_model(spread_fn)
      model.spread_optimizer.learning_rate.assign(0.05)  # Large steps: constraints still hold.
      runner = spread_learning.SpreadPhaseRunner(model, strategy)
      runner(iter(_dataset()), 20, next(iter(_dataset())))
      spread = model.spread
      if isinstance(spread, lowrank.LowRankGaussianSpread):
        factor = spread.factor()
        gram = tf.linalg.matmul(factor, factor, transpose_a=True)
        self.assertAllClose(tf.linalg.logdet(gram), 2. * 3 * np.log(_NORM), rtol=1e-4)
      else:
        for kernel in spread.normalized_kernels():
          matrix = tf.reshape(kernel, [-1, kernel.shape[-1]])
          top = float(tf.linalg.svd(matrix, compute_uv=False)[0])
          # Power iteration lags weights that move fast (lr 0.05): within 1%, as in
          # injective_test's aggressive-update test.
          self.assertLess(top, _LIPSCHITZ * 1.01)
        self.assertLess(float(spread.lipschitz_upper_bound()), 1.)  # Rigorous: f is injective.

  @parameterized.named_parameters(('inference_mode', False), ('batch_statistics', True))
  def test_batchnorm_mode_of_spread_steps(self, batch_statistics):
    # The CelebA nets have BatchNorm: the authors' spread phases normalise with batch statistics
    # but leave the moving averages alone; spreadtf's default uses the moving averages.
    keras.utils.set_random_seed(0)
    shape = (16, 16, 3)
    model = spread_vae.make_spread_vae(
        shape, 2, functools.partial(celeba_conv.make_encoder, filters=(4, 4)),
        functools.partial(celeba_conv.make_decoder, filters=(4, 4), dense_filters=4),
        lambda: lowrank.LowRankGaussianSpread(0.2, rank=2, event_size=768, event_ndims=3,
                                              seed=0),
        seed=3, spread_batch_statistics=batch_statistics)
    model(tf.zeros((1,) + shape))
    spread_opt = keras.optimizers.Adam(1e-2)
    spread_opt.build(model.spread.trainable_variables)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), spread_optimizer=spread_opt)
    images = tf.constant(fake.make_images(8, shape))
    networks = model.encoder.variables + model.decoder.variables
    self.assertNotEmpty(model.decoder.non_trainable_variables)  # the moving averages
    before = [v.numpy() for v in networks]
    spread_before = [v.numpy() for v in model.spread.trainable_variables]
    objective = tf.function(model.spread_step)(images)
    for old, variable in zip(before, networks, strict=True):
      self.assertAllEqual(old, variable)  # weights and moving averages untouched either way
    self.assertNotAllClose(spread_before[0], model.spread.trainable_variables[0].numpy())
    # The objective the step ascended is the one at batch statistics iff asked.
    for old, variable in zip(spread_before, model.spread.trainable_variables, strict=True):
      variable.assign(old)
    seed = tf.random.experimental.stateless_fold_in(tf.constant([3, 2]), 0)
    terms = {mode: model.per_example_terms(images, seed, training=mode)['loss']
             for mode in (False, True)}
    for v, old in zip(networks, before, strict=True):
      v.assign(old)
    self.assertNotAllClose(terms[False], terms[True])  # the two modes really differ here
    self.assertAllClose(objective, tf.reduce_mean(terms[batch_statistics]), rtol=1e-5)

  def test_spread_step_needs_a_spread_optimizer(self):
    model = _make_model(_low_rank, spread_optimizer=False)
    with self.assertRaisesRegex(ValueError, 'spread_optimizer'):
      model.spread_step(tf.zeros((4,) + _IMAGE_SHAPE))

  def test_spread_step_needs_a_learned_spread(self):
    keras.utils.set_random_seed(0)
    model = _make_model(lambda: kernels.GaussianSpread(0.2), spread_optimizer=False)
    model.spread_optimizer = keras.optimizers.Adam(1e-3)
    with self.assertRaisesRegex(ValueError, 'GaussianSpread has no trainable variables'):
      model.spread_step(tf.zeros((4,) + _IMAGE_SHAPE))

  def test_model_step_and_spread_step_have_separate_counters(self):
    model = _make_model(_low_rank)
    images = tf.constant(fake.make_images(8, _IMAGE_SHAPE))
    tf.function(model.spread_step)(images)
    tf.function(model.spread_step)(images)
    tf.function(model.train_step)(images)
    self.assertEqual(int(model.spread_optimizer.iterations), 2)
    self.assertEqual(int(model.optimizer.iterations), 1)


if __name__ == '__main__':
  tf.test.main()
