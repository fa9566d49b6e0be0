"""spreadtf benchmarks, measured side by side with the plain reference implementations.

  python launch/benchmark.py --task=ica_em                  # spread-EM iterations/s vs NumPy
  python launch/benchmark.py --task=vae_mlp --task=vae_conv # delta-VAE train-step examples/s
  python launch/benchmark.py --task=vae_conv --torch_python=/path/to/ref-venv/bin/python

Each task prints one JSON line; with a reference available it also reports the ratio
spreadtf / reference (machines here are noisy: compare ratios measured in the same run, not
absolute numbers across runs). The references live in ../shared/bench (see its README); the PyTorch
one needs a separate virtual environment with torch, given by --torch_python.
"""

import json
import os
import subprocess
import sys

from absl import app
from absl import flags

import bench_ica  # launch/bench_ica.py (this script's directory is on sys.path)
import bench_vae  # launch/bench_vae.py

_BENCH_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared',
                          'bench')

flags.DEFINE_multi_enum('task', ['ica_em', 'vae_mlp', 'vae_conv'],
                        ['ica_em', 'vae_mlp', 'vae_conv'], 'What to benchmark.')
flags.DEFINE_integer('batch', 100, 'Global batch size of the delta-VAE train step.')
flags.DEFINE_integer('steps', 5, 'Timed delta-VAE train steps (after warm-up).')
flags.DEFINE_enum('precision', 'float32', ['float32', 'mixed_bfloat16'],
                  'Keras precision policy of the delta-VAE networks (losses stay float32).')
flags.DEFINE_integer('ica_iters', 3, 'Timed spread-EM iterations at the fig1a size.')
flags.DEFINE_bool('reference', True, 'Also run the reference implementations where available.')
flags.DEFINE_string('torch_python', None,
                    'Python of a venv with torch, to run the PyTorch reference of the conv step.')
FLAGS = flags.FLAGS


def _torch_reference(batch, steps, bf16):
  script = os.path.join(_BENCH_DIR, 'torch_delta_vae.py')
  if not FLAGS.torch_python or not os.path.exists(script):
    return None
  cmd = [FLAGS.torch_python, script, '--batch', str(batch), '--steps', str(steps)]
  if bf16:
    cmd.append('--bf16')
  out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
  return json.loads(out.strip().splitlines()[-1])


def main(argv):
  del argv
  for task in FLAGS.task:
    if task == 'ica_em':
      result = bench_ica.run(iters=FLAGS.ica_iters, reference=FLAGS.reference)
    else:
      model = task.split('_')[1]
      result = bench_vae.run(model=model, batch=FLAGS.batch, steps=FLAGS.steps,
                             precision=FLAGS.precision)
      if model == 'conv' and FLAGS.reference:
        ref = _torch_reference(FLAGS.batch, FLAGS.steps, FLAGS.precision == 'mixed_bfloat16')
        if ref is None:
          result['reference'] = 'skipped: pass --torch_python=<venv with torch>/bin/python'
        else:
          result['reference_examples_per_s'] = ref['examples_per_s']
          result['ratio_vs_pytorch'] = result['examples_per_s'] / ref['examples_per_s']
    result['task'] = task
    print(json.dumps(result), flush=True)


if __name__ == '__main__':
  sys.exit(app.run(main))
