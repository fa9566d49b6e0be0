"""The PyTorch reference runs both precisions and builds spreadtf's networks (same sizes).

Needs torch, which spreadtf does not depend on: the tests run the script with the reference
environment's Python, `.venv-ref/bin/python` at the repository root (`make benchmark` builds it),
and skip, saying why, where that Python is missing or cannot import torch.
"""

import functools
import json
import math
import os
import subprocess

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from benchmarks import references
from benchmarks import vae_step_timing

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
_PYTHON = os.path.join(_REPO, '.venv-ref', 'bin', 'python')


@functools.cache
def _why_torch_is_unavailable():
  """None if `_PYTHON` imports torch, else the reason."""
  if not os.path.exists(_PYTHON):
    return f'{_PYTHON} does not exist (`make benchmark` builds .venv-ref)'
  out = subprocess.run([_PYTHON, '-c', 'import torch'], capture_output=True, text=True,
                       timeout=120, check=False)
  if out.returncode:
    return f'torch not importable in {_PYTHON}: {out.stderr.strip().splitlines()[-1]}'
  return None


def _run(*args):
  """Runs the script at batch 2 without warm-up; returns its stdout lines."""
  out = subprocess.run([_PYTHON, os.path.join(references.REFERENCE_DIR, 'torch_delta_vae.py'),
                        '--batch=2', '--warmup=0', *args],
                       capture_output=True, text=True, timeout=300, check=False)
  if out.returncode:
    raise AssertionError(out.stderr[-3000:])
  return out.stdout.strip().splitlines()


class TorchDeltaVaeTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    reason = _why_torch_is_unavailable()
    if reason:
      self.skipTest(reason)

  @parameterized.named_parameters(('float32', 'float32'), ('bfloat16_autocast', 'bfloat16'))
  def test_prints_one_json_line_with_rate_and_finite_loss(self, precision):
    lines = _run('--net=mlp', '--steps=1', f'--precision={precision}')
    self.assertLen(lines, 1)
    result = json.loads(lines[0])
    self.assertEqual((result['net'], result['precision'], result['batch']),
                     ('mlp', precision, 2))
    self.assertGreater(result['examples_per_s'], 0.)
    self.assertTrue(math.isfinite(result['loss']))

  @parameterized.named_parameters(('conv', 'conv', vae_step_timing.CELEBA_CONV),
                                  ('mlp', 'mlp', vae_step_timing.MNIST_MLP))
  def test_networks_have_spreadtf_parameter_count(self, net, network):
    result = json.loads(_run(f'--net={net}', '--steps=0')[-1])
    spreadtf_vae = vae_step_timing.make_vae(network)
    expected = sum(int(np.prod(v.shape)) for v in spreadtf_vae.trainable_variables)
    self.assertEqual(result['parameters'], expected)


if __name__ == '__main__':
  tf.test.main()
