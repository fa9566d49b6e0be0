"""Runs a launcher (`launch/<script>.py`) in a fresh Python process, its output appended to a log.

The study runner trains and evaluates every run in its own process: gin's global configuration
and TensorFlow's graphs would otherwise leak from one run into the next. The child inherits the
environment (so `PYTHONPATH` and `TF_CPP_MIN_LOG_LEVEL` carry over) and the working directory.
A SIGTERM sent to this process while a child runs is passed on to the child (`launch/train.py`
then saves a checkpoint and exits with status 42), and `run_launcher` raises `Preempted` once the
child has exited, so a preempted study stops and resumes where it stopped.

    code = launcher_process.run_launcher('train.py', ['--workdir=...'], 'runs/x/logs/train.log')
"""

import datetime
import os
import shlex
import signal
import subprocess
import sys
import threading

import tensorflow as tf

from spreadtf import files
from spreadtf import gin_parsing

__all__ = ['LAUNCH_DIR', 'PREEMPTED_EXIT_CODE', 'Preempted', 'command', 'run_launcher']

# The repository's launch/ directory (beside gin/ and the spreadtf package).
LAUNCH_DIR = os.path.join(os.path.dirname(gin_parsing.GIN_DIR), 'launch')
PREEMPTED_EXIT_CODE = 42   # launch/train.py's status after a SIGTERM checkpoint: not finished


class Preempted(Exception):
  """This process or its child was sent SIGTERM: stop now, run the same command again later."""


def command(script, args):
  """The argv that runs `launch/<script>` with `args` under this process's Python."""
  return [sys.executable, os.path.join(LAUNCH_DIR, script), *args]


def _is_local(path):
  return '://' not in path


def _append(log_path, text):
  """Appends `text` to a log on any `tf.io.gfile` path (object stores: rewritten whole)."""
  old = ''
  if tf.io.gfile.exists(log_path):
    with tf.io.gfile.GFile(log_path) as f:
      old = f.read()
  files.write_text(log_path, old + text)


def _wait_forwarding_sigterm(process):
  """Waits for `process`; a SIGTERM meanwhile is sent on to it. Returns whether one came."""
  if threading.current_thread() is not threading.main_thread():
    process.wait()
    return False
  received = []

  def forward(signum, frame):
    del frame
    received.append(signum)
    process.send_signal(signal.SIGTERM)

  previous = signal.signal(signal.SIGTERM, forward)
  try:
    process.wait()
  finally:
    signal.signal(signal.SIGTERM, previous)
  return bool(received)


def run_launcher(script, args, log_path):
  """Runs `launch/<script> args` in a new process; stdout and stderr are appended to `log_path`.

  Args:
    script: the launcher's file name, e.g. 'train.py'.
    args: its flags.
    log_path: the log file (local, streamed as it runs; or a `tf.io.gfile` path, written when
      the process ends). Its directory is created. Each call first appends a header line with
      the time and the command.

  Returns:
    The process's exit status (negative: killed by that signal).

  Raises:
    Preempted: if this process received SIGTERM while the child ran, or the child exited with
      `PREEMPTED_EXIT_CODE` (it was preempted itself).
  """
  argv = command(script, args)
  header = f'=== {datetime.datetime.now().isoformat(timespec="seconds")} {shlex.join(argv)}\n'
  tf.io.gfile.makedirs(os.path.dirname(log_path))
  if _is_local(log_path):
    with open(log_path, 'a') as log:
      log.write(header)
      log.flush()
      process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
      signalled = _wait_forwarding_sigterm(process)
  else:
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    output = []
    reader = threading.Thread(target=lambda: output.append(process.stdout.read()), daemon=True)
    reader.start()
    signalled = _wait_forwarding_sigterm(process)
    reader.join()
    _append(log_path, header + ''.join(output))
  if signalled or process.returncode == PREEMPTED_EXIT_CODE:
    raise Preempted(f'{script} was preempted (SIGTERM); its log is {log_path}.')
  return process.returncode
