"""examples/fit_curve.py at a tiny size: the curve moves to the data and the divergence falls."""

import importlib.util
import json
import os

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _load_example(name):
  """Imports examples/<name>.py (not a package) as a module."""
  spec = importlib.util.spec_from_file_location(
      f'examples_{name}', os.path.join(_REPO, 'examples', f'{name}.py'))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


fit_curve = _load_example('fit_curve')


class FitCurveTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(('spread_kl', 'kl'), ('spread_jensen_shannon', 'js'))
  def test_fit_moves_parameters_to_the_data_and_the_divergence_falls(self, divergence):
    out = os.path.join(self.create_tempdir().full_path, 'fit.png')
    results = fit_curve.main([f'--divergence={divergence}', '--steps=60', '--num_data=200',
                              '--num_samples=64', '--num_inner_samples=128', f'--out={out}'])
    truth, start, fitted = (np.array(results[key]) for key in ('truth', 'start', 'fitted'))
    # The start is 2.0 from the truth; 60 steps end within 0.25 (KL) and 0.11 (JS) of it.
    self.assertLess(np.linalg.norm(fitted - truth), 0.25 * np.linalg.norm(start - truth))
    (before, before_stderr), (after, after_stderr) = (results['divergence_start'],
                                                      results['divergence_fitted'])
    self.assertLess(after + 3. * after_stderr, before - 3. * before_stderr)
    with open(os.path.join(os.path.dirname(out), 'fit.json')) as f:
      self.assertEqual(json.load(f), results)
    self.assertEqual(tf.io.decode_png(tf.io.read_file(out)).shape, [400, 500, 4])


if __name__ == '__main__':
  tf.test.main()
