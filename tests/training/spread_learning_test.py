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
from spreadtf.training import loop
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


def _dataset(nan_batches=()):
  """Batches of 16 fake images; the batches numbered in `nan_batches` (0-based) are all NaN."""
  dataset = tf.data.Dataset.from_tensor_slices(fake.make_images(64, _IMAGE_SHAPE)).shuffle(
      64, seed=0).batch(16, drop_remainder=True).repeat()
  if not nan_batches:
    return dataset
  bad = tf.constant(nan_batches, tf.int64)
  return dataset.enumerate().map(lambda index, images: tf.where(
      tf.reduce_any(tf.equal(index, bad)), tf.fill(tf.shape(images), np.nan), images))


def _spread_values(model):
  return [v.numpy() for v in model.spread.trainable_variables]


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

  @parameterized.named_parameters(('low_rank', _low_rank), ('injective', _injective))
  def test_spread_step_with_nan_is_not_applied_and_is_counted(self, spread_fn):
    model = _make_model(spread_fn)
    step = tf.function(model.spread_step)
    images = tf.constant(fake.make_images(16, _IMAGE_SHAPE))
    step(images)  # Spread step 0: applied.
    spread, weights = _spread_values(model), [w.numpy() for w in model.weights]
    moments = [v.numpy() for v in model.spread_optimizer.variables[1:]]
    objective = step(tf.fill(tf.shape(images), np.nan))  # Spread step 1: NaN data.
    self.assertTrue(np.isnan(objective.numpy()))
    for old, new in zip(spread, model.spread.trainable_variables, strict=True):
      self.assertAllEqual(old, new)
    for old, new in zip(moments, model.spread_optimizer.variables[1:], strict=True):
      self.assertAllEqual(old, new)  # Adam's moments too.
    for old, new in zip(weights, model.weights, strict=True):
      self.assertAllEqual(old, new)  # The power-iteration vectors included.
    self.assertEqual(int(model.spread_optimizer.iterations), 2)  # The step still counts.
    self.assertEqual(model.spread_guard.read(), (1, 1, 'loss'))
    self.assertEqual(model.nonfinite_guard.read(), (0, -1, None))  # The model's: its own.
    step(images)  # Spread step 2: applied again.
    self.assertNotAllClose(spread[0], model.spread.trainable_variables[0].numpy())
    self.assertEqual(model.spread_guard.read(), (1, 1, 'loss'))

  def test_an_exploding_spread_update_is_undone(self):
    # SGD at 1e30: the update is ~1e30 times the gradient, far beyond 100 times ||L_raw||.
    model = _make_model(_low_rank, spread_optimizer=False)
    model.spread_optimizer = keras.optimizers.SGD(1e30)
    model.spread_optimizer.build(model.spread.trainable_variables)
    before = _spread_values(model)
    tf.function(model.spread_step)(tf.constant(fake.make_images(16, _IMAGE_SHAPE)))
    self.assertAllEqual(before[0], model.spread.L_raw)
    self.assertEqual(model.spread_guard.read(), (1, 0, 'update'))

  def test_a_phase_stops_right_after_a_refused_step_naming_the_spread_phase(self):
    model = _make_model(_low_rank)
    runner = spread_learning.SpreadPhaseRunner(model, tf.distribute.get_strategy())
    iterator = iter(_dataset(nan_batches=[3]))
    probe = next(iter(_dataset()))
    runner(iterator, 2, probe, step=0)  # Spread steps 0 and 1.
    before = _spread_values(model)
    with self.assertRaisesRegex(
        loop.DivergedError, r'^training diverged in the spread phase before step 7, at spread '
        r'step 3: the spread objective is NaN or Inf; the update of that step was not '
        r'applied\.$') as caught:
      runner(iterator, 5, probe, step=7)  # Steps 2 (applied) and 3 (NaN); 4-6 never run.
    self.assertEqual((caught.exception.phase, caught.exception.step,
                      caught.exception.spread_step, caught.exception.metric),
                     ('spread', 7, 3, 'loss'))
    self.assertEqual(int(model.spread_optimizer.iterations), 4)
    self.assertNotAllClose(before[0], model.spread.L_raw.numpy())  # Step 2 was applied.

  def test_skip_step_counts_refused_spread_steps_and_the_streak_spans_phases(self):
    model = _make_model(_low_rank)
    streak = tf.Variable(0, dtype=tf.int64)
    strategy = tf.distribute.get_strategy()
    runner = spread_learning.SpreadPhaseRunner(model, strategy, on_nonfinite='skip_step',
                                               limit=4, skip_streak=streak)
    iterator = iter(_dataset(nan_batches=[1, 2, 3, 4]))  # Spread steps 1-4 read NaN.
    probe = next(iter(_dataset()))
    with self.assertLogs('absl', level='WARNING') as logs:
      first = runner(iterator, 1, probe, step=0)  # Step 0: applied.
      second = runner(iterator, 2, probe, step=5)  # Steps 1, 2: refused.
      third = runner(iterator, 1, probe, step=10)  # Step 3: refused, the 3rd in a row.
    self.assertEqual([phase['skipped_spread_steps'] for phase in (first, second, third)],
                     [0, 2, 3])
    self.assertIn('skipped 2 spread step(s) in the phase before step 5 (latest: spread step 2, '
                  'the spread objective is NaN or Inf); 2 skipped so far, 2 in a row.',
                  logs.output[0])
    self.assertIn('skipped 1 spread step(s) in the phase before step 10 (latest: spread step 3, '
                  'the spread objective is NaN or Inf); 3 skipped so far, 3 in a row.',
                  logs.output[1])
    self.assertTrue(np.isfinite([third['objective_before'], third['objective_after']]).all())
    self.assertEqual(int(streak.numpy()), 3)
    # A resumed run: a new runner starts from the saved streak of 3.
    runner = spread_learning.SpreadPhaseRunner(model, strategy, on_nonfinite='skip_step',
                                               limit=4, skip_streak=streak)
    with self.assertRaisesRegex(loop.DivergedError, r'before step 15: 4 spread steps in a row '
                                r'were skipped .*the latest \(spread step 4\) because the spread '
                                r'objective is NaN or Inf; none of them was applied') as caught:
      runner(iterator, 2, probe, step=15)  # Step 4: refused, the 4th in a row; 5 never runs.
    self.assertEqual((caught.exception.skipped_in_a_row, caught.exception.spread_step), (4, 4))
    self.assertEqual(model.spread_guard.read(), (4, 4, 'loss'))
    self.assertEqual(int(model.spread_optimizer.iterations), 5)

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
