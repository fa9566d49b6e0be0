"""MirroredStrategy over two logical CPUs gives the one-device loss and weights.

Also for a learned spread: a spread phase (ascent on L of a low-rank spread) followed by model
steps gives the same spread variables, objectives and weights on two replicas as on one; also
with several steps per compiled loop. A NaN in one replica's rows skips the step on both. The
training root resumed mid-run under two replicas ends with the weights of an uninterrupted run.

Logical devices must be configured before TensorFlow initialises, so the comparison runs in a
fresh Python process (a test file may share its process with others under pytest).
"""

import json
import os
import subprocess
import sys
import textwrap

from absl.testing import parameterized
import gin
import pytest
import tensorflow as tf

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_SCRIPT = textwrap.dedent('''
    import functools, json, sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices('CPU')[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    import numpy as np
    from spreadtf.data import fake
    from spreadtf.models import mlp, spread_vae
    from spreadtf.spreads import kernels, lowrank
    from spreadtf.training import loop, spread_learning

    LOW_VARIANCE = sys.argv[1] == 'low_variance'
    LEARNED = sys.argv[1] == 'learned_spread'
    MULTI_STEP = sys.argv[1] == 'steps_per_loop'
    SHAPE = (8, 8, 1)

    def make_spread():
      if LEARNED:
        return lowrank.LowRankGaussianSpread(0.2, rank=2, event_size=64, event_ndims=3, seed=0)
      return kernels.LaplaceSpread(0.2)

    def build(strategy, weights=None):
      with strategy.scope():
        keras.utils.set_random_seed(0)
        model = spread_vae.make_spread_vae(
            SHAPE, 3, functools.partial(mlp.make_encoder, hidden_units=(16,)),
            functools.partial(mlp.make_decoder, hidden_units=(16,)),
            make_spread, low_variance=LOW_VARIANCE, seed=5)
        model(tf.zeros((1,) + SHAPE))
        optimizer = keras.optimizers.SGD(0.05)  # Not Adam: it would hide a gradient scale.
        spread_optimizer = keras.optimizers.SGD(0.05) if LEARNED else None
        model.compile(optimizer=optimizer, spread_optimizer=spread_optimizer)
        optimizer.build(model.trainable_variables)
        if LEARNED:
          spread_optimizer.build(model.spread.trainable_variables)
      if weights is not None:
        model.set_weights(weights)
      return model

    dataset = tf.data.Dataset.from_tensor_slices(fake.make_images(8, SHAPE)).batch(8).repeat()

    def run(strategy, weights):
      model = build(strategy, weights)
      steps = loop.make_loop_fn(strategy, model.train_step)
      iterator = iter(dataset)
      losses = []
      if LEARNED:
        runner = spread_learning.SpreadPhaseRunner(model, strategy)
        phase = runner(iterator, 3, next(iter(dataset)))
        losses += [phase['objective_before'], phase['objective_after']]
      if MULTI_STEP:  # All three steps in one compiled loop.
        steps(iterator, tf.constant(3))
        losses.append(loop.read_metrics(model)['loss'])
      else:
        for _ in range(3):
          steps(iterator, tf.constant(1))
          losses.append(loop.read_metrics(model)['loss'])
      weights = [np.asarray(w) for w in model.get_weights()]
      weights += [np.asarray(v) for v in model.spread.trainable_variables]
      return losses, weights

    initial_model = build(tf.distribute.get_strategy())
    initial = initial_model.get_weights()
    initial_all = initial + [np.asarray(v) for v in initial_model.spread.trainable_variables]
    one_losses, one_weights = run(tf.distribute.OneDeviceStrategy('/cpu:0'), initial)
    mirrored = tf.distribute.MirroredStrategy(['/cpu:0', '/cpu:1'])
    two_losses, two_weights = run(mirrored, initial)
    print(json.dumps({
        'replicas': mirrored.num_replicas_in_sync,
        'one_losses': one_losses, 'two_losses': two_losses,
        'weight_change': min(float(np.abs(a - b).max()) for a, b in zip(one_weights, initial_all)
                             if a.ndim == 2),
        'weight_diff': max(float(np.abs(a - b).max()) for a, b in zip(one_weights, two_weights)),
        'weight_relative_diff': max(float((np.abs(a - b) / (1. + np.abs(a))).max())
                                    for a, b in zip(one_weights, two_weights)),
    }))
''')


_NAN_SCRIPT = textwrap.dedent('''
    import functools, json
    import tensorflow as tf
    cpu = tf.config.list_physical_devices('CPU')[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    import numpy as np
    from spreadtf.data import fake
    from spreadtf.models import mlp, spread_vae
    from spreadtf.spreads import kernels
    from spreadtf.training import loop

    strategy = tf.distribute.MirroredStrategy(['/cpu:0', '/cpu:1'])
    with strategy.scope():
      model = spread_vae.make_spread_vae(
          (8, 8, 1), 2, functools.partial(mlp.make_encoder, hidden_units=(8,)),
          functools.partial(mlp.make_decoder, hidden_units=(8,)),
          lambda: kernels.GaussianSpread(0.2), seed=1)
      model(tf.zeros((1, 8, 8, 1)))
      model.compile(optimizer=keras.optimizers.Adam(1e-2))
      model.optimizer.build(model.trainable_variables)
    images = fake.make_images(8, (8, 8, 1))
    batches = np.stack([images, images, images])
    batches[1, 6] = np.nan  # Step 1: one NaN row, in the second replica's half.
    iterator = iter(tf.data.Dataset.from_tensor_slices(batches))
    steps = loop.make_loop_fn(strategy, model.train_step)
    snapshots = []
    for _ in range(3):
      snapshots.append([w.numpy().copy() for w in model.trainable_variables])
      steps(iterator, tf.constant(1))
    snapshots.append([w.numpy().copy() for w in model.trainable_variables])
    change = lambda a, b: max(float(np.abs(x - y).max()) for x, y in zip(a, b))
    print(json.dumps({
        'replicas': strategy.num_replicas_in_sync,
        'guard': list(model.nonfinite_guard.read()[:2]) + [
            int(model.nonfinite_guard.last_metric.numpy())],
        'iterations': int(model.optimizer.iterations.numpy()),
        'changed_by_nan_step': change(snapshots[1], snapshots[2]),
        'changed_by_good_steps': min(change(snapshots[0], snapshots[1]),
                                     change(snapshots[2], snapshots[3]))}))
''')

_RESUME_SCRIPT = textwrap.dedent('''
    import json, sys, tempfile, os
    import tensorflow as tf
    cpu = tf.config.list_physical_devices('CPU')[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from tests import testing

    strategy = tf.distribute.MirroredStrategy(['/cpu:0', '/cpu:1'])
    whole, parts = tempfile.mkdtemp(), tempfile.mkdtemp()
    testing.run(whole, num_steps=6, steps_per_epoch=2, steps_per_loop=2, strategy=strategy)
    testing.run(parts, num_steps=3, steps_per_epoch=2, steps_per_loop=2, strategy=strategy)
    metrics = testing.run(parts, num_steps=6, steps_per_epoch=2, steps_per_loop=2,
                       strategy=strategy)
    print(json.dumps({
        'replicas': strategy.num_replicas_in_sync, 'start_step': metrics['start_step'],
        'max_difference': testing.max_difference(
            testing.state_variables(os.path.join(whole, 'checkpoints', 'ckpt-6')),
            testing.state_variables(os.path.join(parts, 'checkpoints', 'ckpt-6')))}))
''')


class MirroredTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  def _run_script(self, script_text, *args):
    script = os.path.join(self.create_tempdir().full_path, 'mirrored.py')
    with open(script, 'w') as f:
      f.write(script_text)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3',
               PYTHONPATH=os.pathsep.join([_REPO, os.environ.get('PYTHONPATH', '')]))
    out = subprocess.run([sys.executable, script, *args], capture_output=True, text=True,
                         env=env, timeout=300, check=False)
    self.assertEqual(out.returncode, 0, out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])

  def test_two_replicas_match_one_device(self):
    self._check_two_replicas_match_one_device('spread')

  # Each variant is a fresh two-device process (about 15 s): the slow tier runs them.
  @parameterized.named_parameters(('low_variance', 'low_variance'),
                                  ('learned_spread', 'learned_spread'),
                                  ('steps_per_loop', 'steps_per_loop'))
  @pytest.mark.slow
  def test_two_replicas_match_one_device_variant(self, objective):
    self._check_two_replicas_match_one_device(objective)

  def _check_two_replicas_match_one_device(self, objective):
    result = self._run_script(_SCRIPT, objective)
    self.assertEqual(result['replicas'], 2)
    # The steps moved every weight matrix (and, for a learned spread, its factor L_raw).
    self.assertGreater(result['weight_change'], 1e-5)
    self.assertAllClose(result['one_losses'], result['two_losses'], rtol=1e-5, atol=1e-5)
    if objective == 'learned_spread':
      # The ascent on L makes steps of order 10 on some weights: float32 summation order across
      # replicas (eps 1.2e-7, amplified over 6 steps) then shows up at 1e-6 relative.
      self.assertLess(result['weight_relative_diff'], 1e-5)
    else:
      self.assertLess(result['weight_diff'], 1e-5)

  @pytest.mark.slow
  def test_nan_in_one_replica_skips_the_step_on_both(self):
    result = self._run_script(_NAN_SCRIPT)
    self.assertEqual(result['replicas'], 2)
    self.assertEqual(result['guard'], [1, 1, 1])  # One step skipped, at step 1, for the loss.
    self.assertEqual(result['iterations'], 3)
    self.assertEqual(result['changed_by_nan_step'], 0.)
    self.assertGreater(result['changed_by_good_steps'], 1e-5)

  @pytest.mark.slow
  def test_resumed_root_run_ends_with_the_uninterrupted_weights(self):
    result = self._run_script(_RESUME_SCRIPT)
    self.assertEqual(result['replicas'], 2)
    self.assertEqual(result['start_step'], 3)
    self.assertLessEqual(result['max_difference'], 1e-6)


if __name__ == '__main__':
  tf.test.main()
