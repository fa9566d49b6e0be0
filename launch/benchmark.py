r"""Benchmarks spreadtf against plain NumPy and PyTorch references, side by side in one run.

  python launch/benchmark.py --torch_python=.venv-ref/bin/python   # what `make benchmark` runs
  python launch/benchmark.py --task=vae_conv --precision=float32 --batch=16 --steps=2

Prints one JSON line per (task, precision), then a summary table (fields: benchmarks/suite.py).
The NumPy reference runs with this Python (--numpy_python to change it), the PyTorch one with
--torch_python; a reference that cannot run is reported with the reason, never silently skipped.
"""

import json
import sys

from absl import app
from absl import flags

from benchmarks import suite

__all__ = []

flags.DEFINE_multi_enum('task', list(suite.TASKS), list(suite.TASKS), 'Tasks to run, in order.')
flags.DEFINE_multi_enum('precision', list(suite.PRECISIONS), list(suite.PRECISIONS),
                        'Precisions of the delta-VAE tasks (spread EM runs in float32).')
flags.DEFINE_integer('batch', None, 'Batch size of the delta-VAE tasks, images of the AIS task '
                     '(default: per task).')
flags.DEFINE_integer('steps', None, 'Timed steps or EM iterations (default: per task).')
flags.DEFINE_bool('smoke', False, 'Tiny sizes and one step: checks the run, not the speed.')
flags.DEFINE_bool('reference', True, 'Run the reference implementations.')
flags.DEFINE_string('torch_python', None, 'Python of a venv with torch (PyTorch reference).')
flags.DEFINE_string('numpy_python', None, 'Python for the NumPy reference (default: this one).')
FLAGS = flags.FLAGS


def main(argv):
  del argv
  pythons = {'numpy': FLAGS.numpy_python or sys.executable, 'torch': FLAGS.torch_python}
  matmul = suite.measure_matmul(FLAGS.smoke)
  records = []
  for name, task, precision in suite.plan(FLAGS.task, FLAGS.precision, FLAGS.batch, FLAGS.steps,
                                          FLAGS.smoke):
    records.append(suite.run_task(name, task, precision, matmul,
                                  pythons if FLAGS.reference else None))
    print(json.dumps(records[-1]), flush=True)
  print(suite.format_table(records))


if __name__ == '__main__':
  app.run(main)
