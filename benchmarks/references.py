"""Runs a reference script in a subprocess and reads its JSON line, or says why it could not.

The references (`benchmarks/reference/*.py`) are standalone scripts run with a Python of their own
(the PyTorch one lives in a separate virtual environment, `.venv-ref`), so this module never
imports them.
"""

import json
import os
import re
import subprocess

__all__ = ['REFERENCE_DIR', 'Unavailable', 'run']

REFERENCE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'reference')

_MISSING_MODULE = re.compile(r"ModuleNotFoundError: No module named '([^']+)'")


class Unavailable(Exception):
  """A reference could not be run; the message says why."""


def _last_line(text):
  lines = [line.strip() for line in text.splitlines() if line.strip()]
  return lines[-1] if lines else '(no output)'


def run(python, script, args, timeout=1800.):
  """Runs `python REFERENCE_DIR/script args` and returns the dict of its last JSON line.

  Args:
    python: path of the Python interpreter to run the script with, or None if none was given.
    script: file name in `REFERENCE_DIR`, e.g. 'torch_delta_vae.py'.
    args: command-line arguments (strings).
    timeout: seconds before the run is abandoned.

  Returns:
    The dict the script printed.

  Raises:
    Unavailable: with the reason, if no Python was given, the Python or the script does not
      exist, a module is not importable there, the script failed or timed out, or it printed no
      JSON line.
  """
  if not python:
    raise Unavailable(f'no Python given to run {script} (pass --torch_python=<venv>/bin/python; '
                      '`make benchmark` builds .venv-ref and passes it)')
  path = os.path.join(REFERENCE_DIR, script)
  if not os.path.exists(path):
    raise Unavailable(f'reference script {path} does not exist')
  if not os.path.exists(python):
    raise Unavailable(f'Python {python} does not exist (`make benchmark` builds .venv-ref)')
  try:
    completed = subprocess.run([python, path, *args], capture_output=True, text=True,
                               timeout=timeout, check=False)
  except subprocess.TimeoutExpired:
    raise Unavailable(f'{script} under {python} timed out after {timeout:.0f} s') from None
  except OSError as error:
    raise Unavailable(f'cannot start {python}: {error}') from None
  if completed.returncode:
    reason = _last_line(completed.stderr)
    missing = _MISSING_MODULE.search(reason)
    if missing:
      raise Unavailable(f'{missing.group(1)} not importable in {python}: {reason}')
    raise Unavailable(f'{script} under {python} failed with exit code {completed.returncode}: '
                      f'{reason}')
  for line in reversed(completed.stdout.splitlines()):
    if line.startswith('{'):
      return json.loads(line)
  raise Unavailable(f'{script} under {python} printed no JSON line: '
                    f'{_last_line(completed.stdout)}')
