"""Tables and plots over several runs: mean +- standard error over seeds, per configuration.

Runs are grouped by configuration: two workdirs belong to the same group when their
`operative_config.gin` files are equal after removing the seed (`train.seed`) and the
`init_checkpoint` / `INIT_CHECKPOINT` bindings (which name another run of the same seed). A group
is labelled by its runs' common parent directory (e.g. `runs/mnist5k/gaussian/seed=0` and
`.../seed=1` form `gaussian`; so is a lone `seed=N` run), or by the first run's directory name.

    results = [report.load_results(w) for w in workdirs]
    groups = report.group_by_config(results)
    print(report.markdown_table(groups))
    report.plot_metric(groups, 'frechet_distance', 'fd.png')
"""

import collections
import dataclasses
import io
import json
import math
import os
import re

from matplotlib import figure
import numpy as np
import tensorflow as tf

from spreadtf import files

__all__ = ['Metric', 'METRICS', 'RunResults', 'find_runs', 'load_results', 'group_by_config',
           'mean_stderr', 'markdown_table', 'plot_metric', 'plot_sample_grids']


@dataclasses.dataclass(frozen=True)
class Metric:
  """A column of the report: where its value comes from and how it is shown."""
  key: str            # key in eval.json or metrics.json
  title: str
  better: str         # 'higher', 'lower', or 'real' (closer to the real images' value)
  digits: int = 1


METRICS = (
    Metric('test_elbo', 'test spread ELBO (nats)', 'higher', 1),
    Metric('iw_log_likelihood', 'IW log p~(y) (nats)', 'higher', 1),
    Metric('frechet_distance', 'FD', 'lower', 2),
    Metric('kid', 'KID', 'lower', 4),
    Metric('precision', 'precision', 'higher', 3),
    Metric('recall', 'recall', 'higher', 3),
    Metric('sharpness', 'sharpness (var. of Laplacian)', 'real', 3),
    Metric('best_step', 'steps to best test ELBO', 'lower', 0),
    Metric('train_seconds', 'training time (s)', 'lower', 0),
)

_SEED_LINE = re.compile(r'^\s*(train\.seed|[\w.]*init_checkpoint|INIT_CHECKPOINT)\s*=.*$',
                        re.MULTILINE)


@dataclasses.dataclass
class RunResults:
  """One run's numbers (metrics.json and eval.json merged) and its configuration key."""
  workdir: str
  values: dict
  config_key: str


def _read_json(path):
  if not tf.io.gfile.exists(path):
    return {}
  with tf.io.gfile.GFile(path) as f:
    return json.load(f)


def find_runs(patterns):
  """Run directories named by `patterns` (paths or glob patterns), in order.

  Raises:
    FileNotFoundError: naming a pattern that matches no directory, or a path that is not one.
  """
  workdirs = []
  for pattern in patterns:
    if any(c in pattern for c in '*?['):
      found = [d for d in sorted(tf.io.gfile.glob(pattern)) if tf.io.gfile.isdir(d)]
      if not found:
        raise FileNotFoundError(f'--runs pattern {pattern!r} matches no directory.')
      workdirs.extend(found)
    elif tf.io.gfile.isdir(pattern):
      workdirs.append(pattern)
    else:
      raise FileNotFoundError(f'--runs entry {pattern!r} is not a directory.')
  return workdirs


def load_results(workdir):
  """Reads `metrics.json`, `eval.json` and `operative_config.gin` of a run.

  Raises:
    FileNotFoundError: naming the workdir when it has neither metrics.json nor eval.json.
  """
  metrics = _read_json(os.path.join(workdir, 'metrics.json'))
  evaluation = _read_json(os.path.join(workdir, 'eval.json'))
  if not metrics and not evaluation:
    raise FileNotFoundError(f'{workdir!r} holds neither metrics.json nor eval.json: not a '
                            'finished run (train it with launch/train.py, evaluate it with '
                            'launch/evaluate.py).')
  config_path = os.path.join(workdir, 'operative_config.gin')
  config = ''
  if tf.io.gfile.exists(config_path):
    with tf.io.gfile.GFile(config_path) as f:
      config = _SEED_LINE.sub('', f.read())
  values = dict(metrics)
  values.update(evaluation)  # eval.json's test_elbo (all held-out images) wins
  return RunResults(os.path.normpath(workdir), values, config)


_SEED_DIR = re.compile(r'^seed[=_-]?\d+$')


def _label(workdirs):
  """The common parent folder of a group's runs (or of a lone `seed=N` run), else its name."""
  parents = {os.path.dirname(w) for w in workdirs}
  if len(parents) == 1 and (len(workdirs) > 1 or _SEED_DIR.match(os.path.basename(workdirs[0]))):
    return os.path.basename(parents.pop())
  return os.path.basename(workdirs[0])


def group_by_config(results):
  """Groups runs of the same configuration: an ordered `{label: [RunResults, ...]}`.

  Groups keep the order in which their first run appears; labels that would clash get the
  suffix ` (2)`, ` (3)`, ...
  """
  by_key = collections.OrderedDict()
  for result in results:
    by_key.setdefault(result.config_key, []).append(result)
  groups = collections.OrderedDict()
  for runs in by_key.values():
    label = base = _label([r.workdir for r in runs])
    suffix = 2
    while label in groups:
      label, suffix = f'{base} ({suffix})', suffix + 1
    groups[label] = runs
  return groups


def mean_stderr(values):
  """(mean, standard error of the mean, n) of the finite values; stderr None for n < 2."""
  values = np.asarray([v for v in values if v is not None and np.isfinite(v)], np.float64)
  if not len(values):
    return None, None, 0
  stderr = float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else None
  return float(values.mean()), stderr, len(values)


def _cell(runs, metric):
  mean, stderr, num = mean_stderr([r.values.get(metric.key) for r in runs])
  if mean is None:
    return 'n/a'
  text = f'{mean:,.{metric.digits}f}'
  if stderr is not None:
    text += f' +- {stderr:,.{metric.digits}f}'
  return text if num == len(runs) else f'{text} ({num} of {len(runs)})'


def _real_data_row(groups):
  """The real-data reference of the runs' eval.json files (real training vs held-out images)."""
  values = {}
  for runs in groups.values():
    for run in runs:
      reference = dict(run.values.get('real_data_reference') or {})
      if run.values.get('sharpness_real') is not None:
        reference['sharpness'] = run.values['sharpness_real']
      for key, value in reference.items():
        values.setdefault(key, []).append(value)
  return {key: float(np.mean(v)) for key, v in values.items()}


def markdown_table(groups, metrics=METRICS):
  """A Markdown table: one row per configuration, mean +- standard error over its seeds.

  When the runs' eval.json files hold the real-data reference (real training images scored like
  generated ones, and the held-out images' sharpness), a last row shows it: the values a perfect
  model would reach with the same numbers of images.
  """
  present = [m for m in metrics
             if any(r.values.get(m.key) is not None for runs in groups.values() for r in runs)]
  arrows = {'higher': 'up', 'lower': 'down', 'real': 'near real'}
  header = '| configuration | seeds | ' + ' | '.join(
      f'{m.title} ({arrows[m.better]})' for m in present) + ' |'
  lines = [header, '|' + '---|' * (len(present) + 2)]
  for label, runs in groups.items():
    lines.append(f'| {label} | {len(runs)} | ' + ' | '.join(_cell(runs, m) for m in present)
                 + ' |')
  reference = _real_data_row(groups)
  if reference:
    cells = [f'{reference[m.key]:,.{m.digits}f}' if m.key in reference else '' for m in present]
    lines.append('| real images (reference) | | ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines) + '\n'


def _save(fig, path):
  buffer = io.BytesIO()
  fig.savefig(buffer, format='png', dpi=100, bbox_inches='tight')
  files.write_bytes(path, buffer.getvalue())


def plot_metric(groups, metric, path):
  """A bar per configuration (mean, +- standard error) and a dot per seed, saved as PNG.

  Args:
    groups: from `group_by_config`.
    metric: a `Metric`.
    path: output PNG (written atomically).

  Returns:
    `path`, or None when no run has the metric.
  """
  rows = [(label, [r.values.get(metric.key) for r in runs]) for label, runs in groups.items()]
  rows = [(label, [v for v in values if v is not None]) for label, values in rows]
  if not any(values for _, values in rows):
    return None
  fig = figure.Figure(figsize=(1.2 + 1.3 * len(rows), 3.2))
  ax = fig.add_subplot()
  for i, (_, values) in enumerate(rows):
    mean, stderr, _ = mean_stderr(values)
    if mean is None:
      continue
    ax.bar(i, mean, yerr=stderr or 0., color='C0', alpha=0.6, capsize=4)
    ax.plot([i] * len(values), values, 'k.', markersize=5)
  ax.set_xticks(range(len(rows)), [label for label, _ in rows], rotation=20, ha='right')
  ax.set_ylabel(metric.title)
  better = {'higher': 'higher is better', 'lower': 'lower is better',
            'real': 'closer to real images is better'}[metric.better]
  ax.set_title(f'{metric.title} ({better}; bars: mean +- s.e. over seeds)',
               fontsize=9)
  _save(fig, path)
  return path


def plot_sample_grids(groups, path, image_name='eval_samples.png'):
  """The sample grid of each configuration's first run, side by side with its label.

  Returns:
    `path`, or None when no run has `image_name`.
  """
  panels = []
  for label, runs in groups.items():
    image_path = os.path.join(runs[0].workdir, image_name)
    if tf.io.gfile.exists(image_path):
      panels.append((label, tf.io.decode_png(tf.io.read_file(image_path)).numpy()))
  if not panels:
    return None
  fig = figure.Figure(figsize=(3. * len(panels), 3.3))
  for i, (label, image) in enumerate(panels):
    ax = fig.add_subplot(1, len(panels), i + 1)
    ax.imshow(image.squeeze(), cmap='gray' if image.shape[-1] == 1 else None, vmin=0, vmax=255)
    ax.set_title(label, fontsize=10)
    ax.axis('off')
  _save(fig, path)
  return path
