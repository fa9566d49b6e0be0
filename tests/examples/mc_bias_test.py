"""examples/mc_bias.py at a tiny size: the Monte Carlo spread KL is biased upwards, less with more
model samples (the exact value is a Gaussian closed form)."""

import importlib.util
import json
import os

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_spec = importlib.util.spec_from_file_location(
    'examples_mc_bias', os.path.join(_REPO, 'examples', 'mc_bias.py'))
mc_bias = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mc_bias)


class MonteCarloBiasTest(tf.test.TestCase, parameterized.TestCase):

  def test_bias_is_positive_and_shrinks_with_model_samples(self):
    out = os.path.join(self.create_tempdir().full_path, 'bias.json')
    tables = mc_bias.main(['--spread', '0.3', '--num_inner_samples', '16', '256',
                           '--num_points=300', '--repeats=10', f'--out={out}'])
    (table,) = tables
    self.assertTrue(np.isfinite(table['exact_kl']) and table['exact_kl'] > 0.)
    few, many = table['rows']
    # Jensen: E[log mean K] <= log E[K], so log q~ is underestimated and the KL overestimated.
    # Measured at full size: 0.65 +- 0.09 nats at S = 16, 0.019 +- 0.002 at S = 256 (about 1/S).
    self.assertGreater(few['bias'], 3. * few['stderr'])
    self.assertGreater(many['bias'], -3. * many['stderr'])
    self.assertLess(many['bias'], few['bias'] / 10.)
    with open(out) as f:
      self.assertEqual(json.load(f), tables)


if __name__ == '__main__':
  tf.test.main()
