"""Running a reference script: its JSON line, or an error that says why it could not run."""

import os
import re
import stat
import sys

from absl.testing import parameterized
import tensorflow as tf

from benchmarks import references

_TINY_EM = ['--num_points=200', '--num_posterior_samples=10', '--iterations=1', '--warmup=0']


def _python_without_site_packages(directory):
  """An executable that runs this Python with -S: the standard library only (no torch, numpy)."""
  path = os.path.join(directory, 'python-no-site')
  with open(path, 'w') as f:
    f.write(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n')
  os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
  return path


class RunTest(tf.test.TestCase, parameterized.TestCase):

  def test_returns_the_scripts_json_line(self):
    result = references.run(sys.executable, 'numpy_spread_em.py', _TINY_EM)
    self.assertEqual(result['impl'], 'numpy')
    self.assertEqual(result['num_points'], 200)
    self.assertGreater(result['iterations_per_s'], 0.)

  def test_no_python_given_says_how_to_give_one(self):
    with self.assertRaisesRegex(references.Unavailable,
                                r'no Python given to run torch_delta_vae\.py.*--torch_python'):
      references.run(None, 'torch_delta_vae.py', [])

  def test_missing_python_is_named(self):
    missing = os.path.join(self.create_tempdir().full_path, 'venv', 'bin', 'python')
    with self.assertRaisesRegex(references.Unavailable,
                                f'Python {re.escape(missing)} does not exist'):
      references.run(missing, 'torch_delta_vae.py', [])

  def test_missing_script_is_named(self):
    with self.assertRaisesRegex(references.Unavailable,
                                r'reference script .*no_such_reference\.py does not exist'):
      references.run(sys.executable, 'no_such_reference.py', [])

  def test_module_not_importable_names_module_and_python(self):
    python = _python_without_site_packages(self.create_tempdir().full_path)
    with self.assertRaisesRegex(
        references.Unavailable,
        f'torch not importable in {re.escape(python)}: '
        "ModuleNotFoundError: No module named 'torch'"):
      references.run(python, 'torch_delta_vae.py', ['--net=mlp'])

  def test_failing_script_reports_exit_code_and_last_error_line(self):
    with self.assertRaisesRegex(references.Unavailable,
                                r'exit code 2: .*argument --dtype: invalid choice'):
      references.run(sys.executable, 'numpy_spread_em.py', ['--dtype=float16'])


if __name__ == '__main__':
  tf.test.main()
