"""Benchmark records (rates, ratio, FLOP/s, reference errors), task settings and the table."""

import dataclasses
import sys
import typing

from absl.testing import parameterized
import tensorflow as tf

from benchmarks import suite

_MATMUL = {'size': 512, 'float32': 1e11, 'bfloat16': 4e11}


@dataclasses.dataclass(frozen=True)
class _FixedRateTask:
  """A task whose spreadtf side reports a fixed rate; its reference is the real NumPy script."""
  batch: int = 200
  steps: int = 1

  unit: typing.ClassVar[str] = 'iteration'
  precisions: typing.ClassVar[tuple] = ('float32',)
  reference_python: typing.ClassVar[str] = 'numpy'

  def measure(self, precision):
    del precision
    return 4., 2.5e9

  def reference_command(self, precision):
    del precision
    return ('numpy_spread_em.py', ['--num_points=200', '--num_posterior_samples=10',
                                   '--iterations=1', '--warmup=0'], 'iterations_per_s')


class RunTaskTest(tf.test.TestCase, parameterized.TestCase):

  def test_record_relates_rates_flops_and_matmul(self):
    record = suite.run_task('fixed', _FixedRateTask(), 'float32', _MATMUL,
                            {'numpy': sys.executable, 'torch': None})
    self.assertEqual(record['reference'].split()[0], 'numpy')
    self.assertNotIn('reference_error', record)
    reference_rate = record['reference_rate']
    self.assertGreater(reference_rate, 0.)
    self.assertAllClose(record['ratio'], 4. / reference_rate)
    self.assertAllClose(record['spreadtf_flops_per_s'], 1e10)
    self.assertAllClose(record['spreadtf_of_matmul'], 0.1)
    self.assertAllClose(record['reference_flops_per_s'], reference_rate * 2.5e9)
    self.assertAllClose(record['reference_of_matmul'], reference_rate * 2.5e9 / 1e11)
    self.assertEqual((record['task'], record['batch'], record['steps'], record['unit']),
                     ('fixed', 200, 1, 'iteration'))
    self.assertEqual(record['matmul_bfloat16_flops_per_s'], 4e11)

  @parameterized.named_parameters(
      ('not_requested', None, r'not run \(--noreference\)'),
      ('python_missing', {'numpy': '/nonexistent/bin/python'},
       r'Python /nonexistent/bin/python does not exist'))
  def test_record_without_reference_says_why(self, pythons, reason):
    record = suite.run_task('fixed', _FixedRateTask(), 'float32', _MATMUL, pythons)
    self.assertIsNone(record['reference'])
    self.assertIsNone(record['reference_rate'])
    self.assertIsNone(record['ratio'])
    self.assertIsNone(record['reference_flops_per_s'])
    self.assertRegex(record['reference_error'], reason)
    self.assertAllClose(record['spreadtf_flops_per_s'], 1e10)


class ConfigureTest(tf.test.TestCase, parameterized.TestCase):

  def test_defaults_are_the_documented_sizes(self):
    tasks = dict(suite.configure(list(suite.TASKS)))
    self.assertEqual((tasks['ica_em'].num_points, tasks['ica_em'].num_posterior_samples,
                      tasks['ica_em'].x_dim, tasks['ica_em'].z_dim), (20000, 1000, 20, 10))
    self.assertFalse(tasks['ica_em_independent'].common_random_numbers)
    self.assertEqual((tasks['vae_conv'].batch, tasks['vae_conv'].steps), (32, 3))
    self.assertEqual(tasks['vae_conv'].network.image_shape, (64, 64, 3))
    self.assertEqual(tasks['vae_mlp'].network.image_shape, (28, 28, 1))

  def test_batch_applies_to_delta_vae_tasks_and_steps_to_all(self):
    tasks = dict(suite.configure(['ica_em', 'vae_conv'], batch=8, steps=2))
    self.assertEqual((tasks['vae_conv'].batch, tasks['vae_conv'].steps), (8, 2))
    self.assertEqual((tasks['ica_em'].batch, tasks['ica_em'].steps), (20000, 2))

  def test_smoke_is_small_and_reference_runs_the_same_sizes(self):
    tasks = dict(suite.configure(['ica_em', 'vae_conv'], smoke=True))
    self.assertEqual(tasks['ica_em'].num_points, 2000)
    _, args, _ = tasks['ica_em'].reference_command('float32')
    self.assertIn('2000', args)
    self.assertEqual(tasks['vae_conv'].batch, 4)
    script, args, key = tasks['vae_conv'].reference_command('mixed_bfloat16')
    self.assertEqual((script, key), ('torch_delta_vae.py', 'examples_per_s'))
    self.assertEqual(args, ['--net', 'conv', '--batch', '4', '--steps', '1',
                            '--precision', 'bfloat16'])


class AisTaskTest(tf.test.TestCase):

  def test_scores_images_at_the_library_defaults_without_a_reference(self):
    task = suite.TASKS['ais_mlp']
    self.assertEqual((task.batch, task.num_steps, task.num_chains, task.num_leapfrog_steps,
                      task.num_tuning_chains), (500, 300, 8, 5, 4))
    self.assertEqual(task.network.image_shape, (28, 28, 1))
    smoke = task.configure(smoke=True)
    self.assertEqual((smoke.batch, smoke.num_steps), (4, 3))
    self.assertEqual(task.configure(batch=1000, steps=7).batch, 1000)
    self.assertIsNone(task.reference_command('float32'))
    self.assertEqual([(name, precision) for name, _, precision in
                      suite.plan(['ais_mlp'], ['float32', 'mixed_bfloat16'])],
                     [('ais_mlp', 'float32')])

  def test_smoke_run_records_the_missing_reference(self):
    record = suite.run_task('ais_mlp', suite.TASKS['ais_mlp'].configure(smoke=True), 'float32',
                            _MATMUL, {'numpy': sys.executable})
    self.assertGreater(record['spreadtf_rate'], 0.)
    self.assertEqual(record['reference_error'], 'no reference implementation of this task')
    self.assertEqual(record['unit'], 'example')


class GuardCostTaskTest(tf.test.TestCase):

  def test_reference_is_the_same_step_without_the_update_bound_in_process(self):
    task = suite.TASKS['guard_cost_mlp']
    self.assertEqual((task.batch, task.steps), (100, 50))
    self.assertIsNone(task.reference_command('float32'))
    record = suite.run_task('guard_cost_mlp', task.configure(smoke=True), 'float32', _MATMUL,
                            None)
    self.assertEqual(record['reference'], 'spreadtf, max_update_ratio=None')
    self.assertGreater(record['reference_rate'], 0.)
    self.assertAllClose(record['ratio'], record['spreadtf_rate'] / record['reference_rate'])

  def test_the_bound_changes_nothing_in_a_sane_step(self):
    # Same seed, model and data: a step far below the bound (ratio ~0.03 at Adam 1e-4) applies
    # the same update with or without the bound, so the losses of 3 steps are equal.
    network = suite.TASKS['guard_cost_mlp'].network
    guarded = suite.vae_step_timing.time_train_step(network, batch=4, steps=2)
    unguarded = suite.vae_step_timing.time_train_step(network, batch=4, steps=2,
                                                      max_update_ratio=None)
    self.assertEqual(guarded['loss'], unguarded['loss'])


class PlanTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(
      ('both', ['float32', 'mixed_bfloat16'],
       [('ica_em', 'float32'), ('vae_conv', 'float32'), ('vae_conv', 'mixed_bfloat16')]),
      ('bfloat16_only', ['mixed_bfloat16'],
       [('ica_em', 'float32'), ('vae_conv', 'mixed_bfloat16')]))
  def test_spread_em_runs_in_float32_whatever_the_precisions(self, precisions, expected):
    runs = suite.plan(['ica_em', 'vae_conv'], precisions)
    self.assertEqual([(name, precision) for name, _, precision in runs], expected)


class FormatTableTest(tf.test.TestCase):

  def test_table_shows_rates_ratio_and_reference_errors(self):
    with_reference = suite.run_task('fixed', _FixedRateTask(), 'float32', _MATMUL,
                                    {'numpy': sys.executable})
    without = suite.run_task('fixed', _FixedRateTask(), 'float32', _MATMUL,
                             {'numpy': '/nonexistent/bin/python'})
    table = suite.format_table([with_reference, without])
    lines = table.splitlines()
    self.assertIn('ratio', lines[0])
    self.assertIn(f"{with_reference['ratio']:.3g}x", lines[2])
    self.assertIn('4 it/s', lines[2])
    self.assertIn('none (see below)', lines[3])
    self.assertIn('float32 100 GFLOP/s, bfloat16 400 GFLOP/s', table)
    self.assertIn('fixed float32: Python /nonexistent/bin/python does not exist', table)

  def test_table_warns_when_other_processes_loaded_the_machine(self):
    record = suite.run_task('fixed', _FixedRateTask(), 'float32', _MATMUL, None)
    quiet = suite.format_table([dict(record, load_average=0.5)])
    busy = suite.format_table([dict(record, load_average=100.)])
    self.assertNotIn('warning', quiet)
    self.assertIn('warning: the load average reached 100.0', busy)


if __name__ == '__main__':
  tf.test.main()
