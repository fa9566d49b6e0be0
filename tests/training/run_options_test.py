"""Tests of the run options: the root's arguments, checked in one place."""

import dataclasses
import inspect

from absl.testing import parameterized
import tensorflow as tf

from spreadtf.training import run_options
from spreadtf.training import training_run


def _options(**overrides):
  config = dict(seed=0, data_fn=print, model_fn=print, optimizer_fn=print)
  config.update(overrides)
  return run_options.RunOptions(**config)


class RunOptionsTest(tf.test.TestCase, parameterized.TestCase):

  def test_are_the_roots_arguments_with_its_defaults(self):
    # The recorded configuration (run_config.json) is keyed by these names: they must be the
    # root's own, with the same defaults, or a resumed run would see a different configuration.
    parameters = inspect.signature(training_run.train).parameters
    roots = {name: p.default for name, p in parameters.items()
             if name not in ('workdir', 'strategy')}
    fields = {f.name: f.default for f in dataclasses.fields(run_options.RunOptions)}
    self.assertEqual(set(fields), set(roots))
    for name, default in fields.items():
      if default is not dataclasses.MISSING:
        self.assertEqual(default, roots[name], name)
    self.assertEqual(set(_options().arguments()), set(roots))

  @parameterized.named_parameters(
      ('on_nonfinite', dict(on_nonfinite='ignore'), 'train.on_nonfinite must be one of'),
      ('steps_per_loop', dict(steps_per_loop=0), 'train.steps_per_loop must be an int >= 1'),
      ('steps_per_loop_bool', dict(steps_per_loop=True), 'train.steps_per_loop'),
      ('stalled_evals', dict(stop_after_stalled_evals=0), 'train.stop_after_stalled_evals'),
      ('stalled_without_evals', dict(stop_after_stalled_evals=2, eval_steps=0),
       'needs evaluations: set train.eval_steps'),
      ('export_checkpoint', dict(export_checkpoint='newest'), "one of \\('latest', 'best'\\)"),
      ('best_without_evals', dict(export_checkpoint='best', eval_steps=0),
       "export_checkpoint = 'best' needs evaluations"))
  def test_bad_options_are_errors_naming_the_binding(self, overrides, message):
    with self.assertRaisesRegex(ValueError, message):
      _options(**overrides)

  @parameterized.named_parameters(
      ('on_data_change', dict(on_data_change='ignore'),
       r"train.on_data_change must be one of \('refuse', 'reshuffle'\)"),
      ('skipped_zero', dict(max_consecutive_skipped=0), 'train.max_consecutive_skipped must be'),
      ('skipped_fraction_above_one', dict(max_consecutive_skipped=1.5),
       r'a float in \(0, 1\] \(a fraction of an epoch\)'),
      ('skipped_bool', dict(max_consecutive_skipped=True), 'train.max_consecutive_skipped'),
      ('update_ratio_zero', dict(max_update_ratio=0.), 'train.max_update_ratio must be None'),
      ('update_ratio_text', dict(max_update_ratio='100'), 'train.max_update_ratio'))
  def test_new_fault_options_are_checked_naming_the_binding(self, overrides, message):
    with self.assertRaisesRegex(ValueError, message):
      _options(**overrides)
    for good in (dict(on_data_change='reshuffle'), dict(max_consecutive_skipped=None),
                 dict(max_consecutive_skipped=0.25), dict(max_update_ratio=None),
                 dict(max_update_ratio=10)):
      _options(**good)

  def test_good_options_pass(self):
    options = _options(export_checkpoint='best', stop_after_stalled_evals=3, steps_per_loop=1)
    self.assertEqual(options.arguments()['export_checkpoint'], 'best')


if __name__ == '__main__':
  tf.test.main()
