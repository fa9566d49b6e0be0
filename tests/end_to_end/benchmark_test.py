"""launch/benchmark.py end to end at smoke sizes: JSON lines, the table, reference errors.

Speed is not asserted here (see BUILD.md, Benchmarks): only that the entry point runs, reports
every field and says why a reference is missing. The PyTorch reference is given a Python that
cannot import torch, so this test needs no torch.
"""

import json
import math
import os
import stat
import subprocess
import sys

from absl.testing import parameterized
import pytest
import tensorflow as tf

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_FIELDS = {'task', 'precision', 'batch', 'steps', 'unit', 'spreadtf_rate', 'reference',
           'reference_rate', 'ratio', 'flops_per_unit', 'spreadtf_flops_per_s',
           'reference_flops_per_s', 'matmul_size', 'matmul_float32_flops_per_s',
           'matmul_bfloat16_flops_per_s', 'spreadtf_of_matmul', 'reference_of_matmul',
           'load_average'}


class BenchmarkTest(tf.test.TestCase, parameterized.TestCase):

  # Slow (a fresh TensorFlow process and the matmul probe); tests/benchmarks/ covers the parts.
  @pytest.mark.slow
  def test_prints_json_lines_then_table_with_reference_errors(self):
    no_torch = os.path.join(self.create_tempdir().full_path, 'python-no-site')
    with open(no_torch, 'w') as f:
      f.write(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n')
    os.chmod(no_torch, os.stat(no_torch).st_mode | stat.S_IXUSR)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
    out = subprocess.run(
        [sys.executable, os.path.join(_REPO, 'launch', 'benchmark.py'), '--smoke',
         '--task=ica_em', '--task=vae_mlp', '--precision=float32', f'--torch_python={no_torch}'],
        cwd=_REPO, capture_output=True, text=True, env=env, timeout=600, check=False)
    self.assertEqual(out.returncode, 0, out.stderr[-3000:])
    lines = out.stdout.splitlines()
    records = [json.loads(line) for line in lines if line.startswith('{')]
    self.assertEqual([(r['task'], r['precision']) for r in records],
                     [('ica_em', 'float32'), ('vae_mlp', 'float32')])
    ica, mlp = records
    self.assertEqual(set(ica), _FIELDS)
    self.assertEqual(set(mlp), _FIELDS | {'reference_error'})
    self.assertEqual(ica['reference'].split()[0], 'numpy')
    self.assertAllClose(ica['ratio'], ica['spreadtf_rate'] / ica['reference_rate'])
    self.assertEqual((ica['batch'], ica['unit'], mlp['batch'], mlp['unit']),
                     (2000, 'iteration', 4, 'example'))
    self.assertTrue(math.isfinite(mlp['spreadtf_rate']))
    self.assertIsNone(mlp['reference'])
    self.assertRegex(mlp['reference_error'], f'torch not importable in {no_torch}: '
                     "ModuleNotFoundError: No module named 'torch'")
    table = lines[len(records):]
    self.assertTrue(table[0].startswith('task'), out.stdout)
    self.assertRegex(table[2], r'^ica_em +float32 +2000 .*numpy')
    self.assertRegex(table[3], r'^vae_mlp +float32 +4 .*none \(see below\)')
    self.assertIn(f'  vae_mlp float32: torch not importable in {no_torch}', out.stdout)


if __name__ == '__main__':
  tf.test.main()
