"""The benchmark tasks, one record per (task, precision), and the summary table.

Every task is measured on the spreadtf side in this process and on the reference side in a
subprocess right after it (`benchmarks.references`), so both see the same machine state; the
machine's matmul rate (`benchmarks.hardware`) is measured once at the start of the same run. A
record is a flat dict, printed as one JSON line:

  task, precision, batch, steps, unit ('example' or 'iteration'),
  spreadtf_rate, reference (e.g. 'pytorch 2.13.0+cpu', or None), reference_rate, ratio
  (spreadtf_rate / reference_rate), reference_error (why there is no reference; only then),
  flops_per_unit (`benchmarks.flops`), spreadtf_flops_per_s, reference_flops_per_s,
  matmul_size, matmul_float32_flops_per_s, matmul_bfloat16_flops_per_s, spreadtf_of_matmul and
  reference_of_matmul (achieved FLOP/s over the float32 matmul rate), load_average (1-minute
  load average when the task started: other processes on the machine skew every rate).

Tasks are chosen by name from `TASKS`, a dict of task objects; each object knows its workload,
its sizes and its reference (or that it has none), so nothing is parsed out of the name.
"""

import dataclasses
import os
import typing

import tensorflow as tf

from benchmarks import ais_timing
from benchmarks import flops
from benchmarks import hardware
from benchmarks import references
from benchmarks import spread_em_timing
from benchmarks import vae_step_timing

__all__ = ['SpreadEmTask', 'DeltaVaeTask', 'GuardCostTask', 'AisTask', 'TASKS', 'PRECISIONS',
           'measure_matmul', 'run_task', 'format_table']

PRECISIONS = ('float32', 'mixed_bfloat16')


@dataclasses.dataclass(frozen=True)
class SpreadEmTask:
  """Spread-EM iterations/s at the paper's fig1a size against `reference/numpy_spread_em.py`.

  `batch` is the number of points N every iteration processes; `steps` the timed iterations on
  each side. Runs in float32 only.
  """
  common_random_numbers: bool = True
  x_dim: int = 20
  z_dim: int = 10
  num_points: int = 20000
  num_posterior_samples: int = 1000
  steps: int = 3
  reference_warmup: int = 1

  unit: typing.ClassVar[str] = 'iteration'
  precisions: typing.ClassVar[tuple] = ('float32',)
  reference_python: typing.ClassVar[str] = 'numpy'

  @property
  def batch(self):
    return self.num_points

  def configure(self, batch=None, steps=None, smoke=False):
    """This task with other timed `steps`; `smoke` gives N = 2000, S_z = 100 and one step.

    `batch` does not apply (the data set is the task's size).
    """
    del batch
    task = self
    if smoke:
      task = dataclasses.replace(task, num_points=2000, num_posterior_samples=100, steps=1,
                                 reference_warmup=0)
    return dataclasses.replace(task, steps=steps) if steps else task

  def measure(self, precision):
    """Returns `(iterations/s, FLOPs per iteration)` of spreadtf."""
    del precision
    rate = spread_em_timing.time_em(self.x_dim, self.z_dim, self.num_points,
                                    self.num_posterior_samples, iterations=self.steps,
                       common_random_numbers=self.common_random_numbers)['iterations_per_s']
    return rate, flops.spread_em_flops(self.num_points, self.x_dim, self.z_dim,
                                       self.num_posterior_samples, self.common_random_numbers)

  def reference_command(self, precision):
    """Returns `(script, args, rate key)` of the NumPy reference (float32, same sizes)."""
    del precision
    args = ['--x_dim', str(self.x_dim), '--z_dim', str(self.z_dim), '--num_points',
            str(self.num_points), '--num_posterior_samples', str(self.num_posterior_samples),
            '--iterations', str(self.steps), '--warmup', str(self.reference_warmup),
            '--dtype', 'float32']
    if not self.common_random_numbers:
      args.append('--independent_draws')
    return 'numpy_spread_em.py', args, 'iterations_per_s'


@dataclasses.dataclass(frozen=True)
class _TrainStepTask:
  """`SpreadVAE.train_step` examples/s of a network, at a batch size and number of timed steps.

  Each run takes one untimed step, then `steps` timed ones (the figure is the median).
  """
  network: vae_step_timing.Network
  batch: int
  steps: int

  unit: typing.ClassVar[str] = 'example'

  def configure(self, batch=None, steps=None, smoke=False):
    """This task with another batch size or timed steps; `smoke` gives batch 4 and one step."""
    task = dataclasses.replace(self, batch=4, steps=1) if smoke else self
    return dataclasses.replace(task, batch=batch or task.batch, steps=steps or task.steps)

  def measure(self, precision):
    """Returns `(examples/s, FLOPs per example)` of spreadtf's step (training's guard)."""
    result = vae_step_timing.time_train_step(self.network, self.batch, self.steps,
                                             precision=precision)
    return result['examples_per_s'], result['flops_per_example']


@dataclasses.dataclass(frozen=True)
class DeltaVaeTask(_TrainStepTask):
  """Delta-VAE train-step examples/s against `reference/torch_delta_vae.py --net=<reference_net>`.

  'mixed_bfloat16' is compared with PyTorch's bfloat16 autocast.
  """
  reference_net: str

  precisions: typing.ClassVar[tuple] = PRECISIONS
  reference_python: typing.ClassVar[str] = 'torch'

  def reference_command(self, precision):
    """Returns `(script, args, rate key)` of the PyTorch reference at the same settings."""
    args = ['--net', self.reference_net, '--batch', str(self.batch), '--steps', str(self.steps),
            '--precision', 'float32' if precision == 'float32' else 'bfloat16']
    return 'torch_delta_vae.py', args, 'examples_per_s'


@dataclasses.dataclass(frozen=True)
class GuardCostTask(_TrainStepTask):
  """The delta-VAE train step with the update-size guard against the same step without it.

  The reference is measured in this process right after the guarded step: the same model, data
  and step with `max_update_ratio=None` (the non-finite check stays; only the bound on
  ||w_new - w_old|| / max(||w_old||, 1), which keeps the old weights to undo an update, is off).
  `ratio` is guarded / unguarded examples per second: 1 means the bound is free.
  """
  precisions: typing.ClassVar[tuple] = ('float32',)
  reference_python: typing.ClassVar[None] = None

  def reference_command(self, precision):
    """None: the reference is in process (`measure_reference`)."""
    del precision

  def measure_reference(self, precision):
    """Returns `(name, examples/s)` of the same step without the update-size bound."""
    result = vae_step_timing.time_train_step(self.network, self.batch, self.steps,
                                             precision=precision, max_update_ratio=None)
    return 'spreadtf, max_update_ratio=None', result['examples_per_s']


@dataclasses.dataclass(frozen=True)
class AisTask:
  """AIS images/s (`spreadtf.evaluation.ais.ais_of`, tuning pass included); no reference.

  `batch` is the number of images of the timed call, at the library's defaults (T = 300 from the
  encoder, 8 chains plus 4 tuning chains, 5 leapfrog steps). 500 images are exactly one decoder
  call of 4,000 codes, so 1,000 images take twice the time of the default batch.
  """
  network: vae_step_timing.Network
  batch: int = 500
  steps: int = 1
  num_steps: int = 300
  num_chains: int = 8
  num_leapfrog_steps: int = 5
  num_tuning_chains: int = 4

  unit: typing.ClassVar[str] = 'example'
  precisions: typing.ClassVar[tuple] = ('float32',)
  reference_python: typing.ClassVar[None] = None

  def configure(self, batch=None, steps=None, smoke=False):
    """This task with another number of images; `smoke` gives 4 images and T = 3.

    `steps` does not apply (one timed call).
    """
    del steps
    task = dataclasses.replace(self, batch=4, num_steps=3) if smoke else self
    return dataclasses.replace(task, batch=batch or task.batch)

  def measure(self, precision):
    """Returns `(images/s, FLOPs per image)` of spreadtf."""
    del precision
    result = ais_timing.time_ais(self.network, self.batch, self.num_steps, self.num_chains,
                                 self.num_leapfrog_steps, self.num_tuning_chains)
    return result['images_per_s'], result['flops_per_image']

  def reference_command(self, precision):
    """None: no reference implementation of this workload."""
    del precision


TASKS = {
    # Common random numbers, spreadtf's default E-step.
    'ica_em': SpreadEmTask(common_random_numbers=True),
    # Independent draws per point (the textbook E-step); NumPy compiles nothing, so its reference
    # needs no warm-up; one iteration took 12-25 s on either side here under load.
    'ica_em_independent': SpreadEmTask(common_random_numbers=False, steps=1, reference_warmup=0),
    'vae_mlp': DeltaVaeTask(vae_step_timing.MNIST_MLP, batch=100, steps=20, reference_net='mlp'),
    # The paper's CelebA nets: about 9 GFLOPs per example, several seconds per step at batch 32.
    'vae_conv': DeltaVaeTask(vae_step_timing.CELEBA_CONV, batch=32, steps=3, reference_net='conv'),
    # What the update-size guard (train.max_update_ratio) costs a step of the MNIST MLP.
    'guard_cost_mlp': GuardCostTask(vae_step_timing.MNIST_MLP, batch=100, steps=50),
    # AIS of the MNIST MLP delta-VAE at the library's defaults (several minutes on 2 cores).
    'ais_mlp': AisTask(vae_step_timing.MNIST_MLP),
}


def configure(names, batch=None, steps=None, smoke=False):
  """`[(name, task)]` for the task names, with `batch`, `steps` and `smoke` applied."""
  return [(name, TASKS[name].configure(batch=batch, steps=steps, smoke=smoke)) for name in names]


def plan(names, precisions, batch=None, steps=None, smoke=False):
  """`[(name, task, precision)]` in order: each task at the requested precisions it supports.

  A task that supports none of them (spread EM, float32 only) runs at its own precisions.

  Args:
    names: task names, keys of `TASKS`.
    precisions: requested precisions, from `PRECISIONS`.
    batch: batch size of the delta-VAE tasks, or None for each task's default.
    steps: timed steps or iterations, or None for each task's default.
    smoke: tiny sizes and one step.

  Returns:
    A list of `(name, configured task, precision)`.
  """
  runs = []
  for name, task in configure(names, batch, steps, smoke):
    chosen = [p for p in precisions if p in task.precisions] or list(task.precisions)
    runs.extend((name, task, precision) for precision in chosen)
  return runs


def measure_matmul(smoke=False):
  """`{'size': n, 'float32': FLOP/s, 'bfloat16': FLOP/s}` of an n x n `tf.linalg.matmul`.

  n is 4096, or 512 with `smoke` (quick, but too small to reach the machine's rate).
  """
  size = 512 if smoke else 4096
  return {'size': size, 'float32': hardware.matmul_flops_per_s(size, tf.float32),
          'bfloat16': hardware.matmul_flops_per_s(size, tf.bfloat16)}


def _reference(task, precision, pythons):
  """`(name, rate)` of the task's reference, or raises `references.Unavailable`."""
  if hasattr(task, 'measure_reference'):
    return task.measure_reference(precision)
  command = task.reference_command(precision)
  if command is None:
    raise references.Unavailable('no reference implementation of this task')
  if pythons is None:
    raise references.Unavailable('not run (--noreference)')
  script, args, rate_key = command
  result = references.run(pythons.get(task.reference_python), script, args)
  if not isinstance(result.get(rate_key), (int, float)) or not result[rate_key] > 0.:
    raise references.Unavailable(f'{script} reported no positive {rate_key}: {result}')
  version = result.get('torch') or result.get('numpy') or ''
  return f"{result.get('impl', script)} {version}".strip(), result[rate_key]


def run_task(name, task, precision, matmul, pythons):
  """Measures one task at one precision, spreadtf then its reference.

  Args:
    name: the task's name (a key of `TASKS`).
    task: the (configured) task object.
    precision: one of `task.precisions`.
    matmul: the output of `measure_matmul()`.
    pythons: `{'numpy': path, 'torch': path or None}`, the interpreters of the references, or
      None to skip them.

  Returns:
    The record (see the module docstring).
  """
  load_average = os.getloadavg()[0]
  rate, flops_per_unit = task.measure(precision)
  record = {'task': name, 'precision': precision, 'batch': task.batch, 'steps': task.steps,
            'unit': task.unit, 'spreadtf_rate': rate}
  try:
    reference, reference_rate = _reference(task, precision, pythons)
    record.update(reference=reference, reference_rate=reference_rate,
                  ratio=rate / reference_rate)
  except references.Unavailable as error:
    record.update(reference=None, reference_rate=None, ratio=None, reference_error=str(error))
  float32_peak = matmul['float32']
  record.update(
      flops_per_unit=flops_per_unit, spreadtf_flops_per_s=rate * flops_per_unit,
      reference_flops_per_s=(None if record['reference_rate'] is None
                             else record['reference_rate'] * flops_per_unit),
      matmul_size=matmul['size'], matmul_float32_flops_per_s=float32_peak,
      matmul_bfloat16_flops_per_s=matmul['bfloat16'],
      spreadtf_of_matmul=rate * flops_per_unit / float32_peak,
      reference_of_matmul=(None if record['reference_rate'] is None
                           else record['reference_rate'] * flops_per_unit / float32_peak),
      load_average=load_average)
  return record


def _rate(value, unit):
  if value is None:
    return '-'
  return f"{value:.4g} {'ex' if unit == 'example' else 'it'}/s"


def _gflops(flops_per_s, fraction):
  if flops_per_s is None:
    return '-'
  return f'{flops_per_s / 1e9:.3g} ({100. * fraction:.0f}%)'


def format_table(records):
  """A fixed-width summary of the records, with the matmul rates and the reference errors.

  Args:
    records: dicts from `run_task`, all from one run.

  Returns:
    A multi-line string.
  """
  header = ('task', 'precision', 'batch', 'steps', 'spreadtf', 'reference', 'ref. rate', 'ratio',
            'GFLOP/unit', 'spreadtf GFLOP/s (% f32 mm)', 'ref. GFLOP/s (% f32 mm)', 'load')
  rows = [header]
  for r in records:
    rows.append((r['task'], r['precision'], str(r['batch']), str(r['steps']),
                 _rate(r['spreadtf_rate'], r['unit']), r['reference'] or 'none (see below)',
                 _rate(r['reference_rate'], r['unit']),
                 '-' if r['ratio'] is None else f"{r['ratio']:.3g}x",
                 f"{r['flops_per_unit'] / 1e9:.4g}",
                 _gflops(r['spreadtf_flops_per_s'], r['spreadtf_of_matmul']),
                 _gflops(r['reference_flops_per_s'], r['reference_of_matmul']),
                 f"{r['load_average']:.1f}"))
  widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
  lines = ['  '.join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
           for row in rows]
  lines.insert(1, '  '.join('-' * width for width in widths))
  if records:
    size = records[0]['matmul_size']
    lines.append(f"machine: tf.linalg.matmul {size}x{size} float32 "
                 f"{records[0]['matmul_float32_flops_per_s'] / 1e9:.4g} GFLOP/s, bfloat16 "
                 f"{records[0]['matmul_bfloat16_flops_per_s'] / 1e9:.4g} GFLOP/s "
                 f"(measured in this run); load = 1-min load average at the task's start "
                 f"({os.cpu_count()} CPUs)")
  busiest = max((r['load_average'] for r in records), default=0.)
  if busiest > os.cpu_count() + 1:   # this run's own threads count in the load average
    lines.append(f'warning: the load average reached {busiest:.1f} on {os.cpu_count()} CPUs: '
                 'other processes took CPU time during the run, and contention slows the '
                 "frameworks' thread pools differently (PyTorch's OpenMP threads more), so rates "
                 'and ratios are unreliable; rerun on an idle machine.')
  errors = [r for r in records if r.get('reference_error')]
  if errors:
    lines.append('no reference:')
    lines.extend(f"  {r['task']} {r['precision']}: {r['reference_error']}" for r in errors)
  return '\n'.join(lines)
