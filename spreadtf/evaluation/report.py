"""Tables and plots over several runs: mean and 95% confidence interval over seeds, tests.

Runs are grouped by configuration: two workdirs belong to the same group when their
`operative_config.gin` files are equal after removing the seed (`train.seed`) and the
`init_checkpoint` / `INIT_CHECKPOINT` bindings (which name another run of the same seed), and,
for runs laid out as `<name>/seed=<s>/` (as the study runner writes them), when they sit in the
same `<name>` directory: such a group is named `<name>`, and two named directories stay two
configurations even if their configs agree. Other groups are labelled by their runs' common
parent directory, or by the first run's directory name.

    results = [report.load_results(w) for w in workdirs]
    groups = report.group_by_config(results)
    print(report.markdown_report(groups, [
        comparisons.Comparison('sharpness', 'laplace', 'gaussian', higher_is_better=True)]))
    report.plot_metric(groups, metric, 'fd.png')

The report (`markdown_report`) has these sections: the configurations (mean [95% CI] per metric,
in three tables: likelihoods, sample quality, steps and time; `METRICS`, plus a column per
yardstick kernel the runs were scored under, `metrics_for`), the runs (the step each was
evaluated at, its training and evaluation seconds, and a bootstrap interval over test images of
its per-image metrics, from `eval_per_image.npz`), where the evaluation time went
(`timing_table`) and the declared comparisons (`claims`). A metric key is one of `METRICS` or
a yardstick's (`yardstick.METRIC_KEY`, e.g. `yardstick_gaussian_0.3_ais`): `metric_for(key)`.
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
from spreadtf.evaluation import claims
from spreadtf.evaluation import comparisons
from spreadtf.evaluation import per_image
from spreadtf.evaluation import statistics
from spreadtf.evaluation import yardstick
from spreadtf.training import workdir_layout

__all__ = ['LIKELIHOODS', 'SAMPLE_QUALITY', 'STEPS_AND_TIME', 'SECTIONS', 'Metric', 'METRICS',
           'metric_for', 'metrics_for', 'RunResults', 'find_runs', 'load_results',
           'group_by_config', 'mean_stderr', 'mean_interval', 'markdown_table', 'runs_table',
           'bootstrap_table', 'timing_table', 'parse_comparison', 'markdown_report', 'plot_metric',
           'plot_sample_grids']

LIKELIHOODS = 'Likelihoods'
SAMPLE_QUALITY = 'Sample quality'
STEPS_AND_TIME = 'Steps and time'


@dataclasses.dataclass(frozen=True)
class Metric:
  """A column of the report: where its value comes from, how it is shown, and in which table."""
  key: str            # key in eval.json or metrics.json
  title: str
  better: str         # 'higher', 'lower', 'real' (closer to the real images' value) or 'none'
  digits: int = 1
  section: str = LIKELIHOODS


METRICS = (
    Metric('test_elbo', 'test spread ELBO, nats', 'higher', 1),
    Metric('iw_log_likelihood', 'IW log p~(y), nats', 'higher', 1),
    Metric('iw_largest_k_log_likelihood', "IW at the sweep's largest K, nats", 'higher', 1),
    Metric('ais_log_likelihood', 'AIS log p~(y), nats', 'higher', 1),
    Metric('bdmc_gap', 'BDMC gap, nats', 'lower', 2),
    # The yardstick columns (`yardstick.METRIC_KEY`) come here, those the runs have.
    Metric('dequantized_bits_per_dim', 'dequantised clean data, bits/dim', 'lower', 3),
    Metric('frechet_distance', 'FD', 'lower', 2, SAMPLE_QUALITY),
    Metric('kid', 'KID', 'lower', 4, SAMPLE_QUALITY),
    Metric('precision', 'precision', 'higher', 3, SAMPLE_QUALITY),
    Metric('recall', 'recall', 'higher', 3, SAMPLE_QUALITY),
    Metric('autoencoder_frechet_distance', 'FD, autoencoder view', 'lower', 2, SAMPLE_QUALITY),
    Metric('autoencoder_kid', 'KID, autoencoder view', 'lower', 4, SAMPLE_QUALITY),
    Metric('autoencoder_precision', 'precision, autoencoder view', 'higher', 3, SAMPLE_QUALITY),
    Metric('autoencoder_recall', 'recall, autoencoder view', 'higher', 3, SAMPLE_QUALITY),
    Metric('sharpness', 'sharpness (var. of Laplacian)', 'real', 3, SAMPLE_QUALITY),
    Metric('step', 'step evaluated', 'none', 0, STEPS_AND_TIME),
    Metric('best_step', 'step of the best validation ELBO', 'none', 0, STEPS_AND_TIME),
    Metric('train_seconds', 'training (s)', 'none', 0, STEPS_AND_TIME),
    Metric('eval_seconds', 'evaluation (s)', 'none', 0, STEPS_AND_TIME),
)
SECTIONS = (LIKELIHOODS, SAMPLE_QUALITY, STEPS_AND_TIME)
_YARDSTICK_BEFORE = 'dequantized_bits_per_dim'
_METHOD_TITLES = {'iw': 'IW', 'ais': 'AIS'}


def metric_for(key):
  """The `Metric` of a report key: one of `METRICS`, or a yardstick's column; else None.

  A yardstick key (`yardstick.METRIC_KEY`, e.g. `yardstick_gaussian_0.3_iw`) is the run's
  log q~(y) under that fixed kernel, on the same spread data for every run.
  """
  for metric in METRICS:
    if metric.key == key:
      return metric
  match = yardstick.METRIC_KEY.match(key)
  if not match:
    return None
  family, scale, method = match.groups()
  return Metric(key, f'log q~(y) {family.capitalize()} {scale} {_METHOD_TITLES[method]}, nats',
                'higher', 1)


def _yardstick_order(key):
  family, scale, method = yardstick.METRIC_KEY.match(key).groups()
  return family, float(scale), yardstick.METHODS.index(method)


def metrics_for(groups):
  """`METRICS` with the yardstick columns of the runs in `groups` (by kernel, IW before AIS)."""
  keys = {k for runs in groups.values() for r in runs for k in r.values
          if yardstick.METRIC_KEY.match(k)}
  extra = [metric_for(k) for k in sorted(keys, key=_yardstick_order)]
  at = [m.key for m in METRICS].index(_YARDSTICK_BEFORE)
  return METRICS[:at] + tuple(extra) + METRICS[at:]


_SEED_LINE = re.compile(r'^\s*(train\.seed|[\w.]*init_checkpoint|INIT_CHECKPOINT)\s*=.*$',
                        re.MULTILINE)
_SEED_BINDING = re.compile(r'^\s*train\.seed\s*=\s*(-?\d+)\s*$', re.MULTILINE)
_SEED_DIR = re.compile(r'^seed[=_-]?\d+$')


@dataclasses.dataclass
class RunResults:
  """One run's numbers and what identifies it.

  Attributes:
    workdir: the run's directory (normalised).
    values: metrics.json and eval.json merged (eval.json wins).
    config_key: its operative config without the seed and init-checkpoint bindings.
    seed: its `train.seed` (None when the config does not bind it).
    name: `<name>` of a run laid out as `<name>/seed=<s>/`, else None.
    per_image: its `eval_per_image.npz` values (`{key: [num_images]}`; {} without the file).
  """
  workdir: str
  values: dict
  config_key: str
  seed: int | None = None
  name: str | None = None
  per_image: dict = dataclasses.field(default_factory=dict)


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
  layout = workdir_layout.WorkdirLayout(workdir)
  metrics = _read_json(layout.metrics)
  evaluation = _read_json(layout.eval)
  if not metrics and not evaluation:
    raise FileNotFoundError(f'{workdir!r} holds neither metrics.json nor eval.json: not a '
                            'finished run (train it with launch/train.py, evaluate it with '
                            'launch/evaluate.py).')
  config_path = layout.operative_config
  config, seed = '', None
  if tf.io.gfile.exists(config_path):
    with tf.io.gfile.GFile(config_path) as f:
      config = f.read()
    match = _SEED_BINDING.search(config)
    seed = int(match.group(1)) if match else None
    config = _SEED_LINE.sub('', config)
  values = dict(metrics)
  values.update(evaluation)  # eval.json's test_elbo (all held-out images) wins
  workdir = os.path.normpath(workdir)
  name = None
  if _SEED_DIR.match(os.path.basename(workdir)) and os.path.basename(os.path.dirname(workdir)):
    name = os.path.basename(os.path.dirname(workdir))
  return RunResults(workdir, values, config, seed=seed, name=name,
                    per_image=per_image.read(workdir))


def _label(workdirs):
  """The common parent folder of a group's runs (or of a lone `seed=N` run), else its name."""
  parents = {os.path.dirname(w) for w in workdirs}
  if len(parents) == 1 and (len(workdirs) > 1 or _SEED_DIR.match(os.path.basename(workdirs[0]))):
    return os.path.basename(parents.pop())
  return os.path.basename(workdirs[0])


def group_by_config(results):
  """Groups runs of the same configuration: an ordered `{label: [RunResults, ...]}`.

  Runs belong together when their configs agree apart from the seed and, for runs in
  `<name>/seed=<s>/` directories, their `<name>` agrees; such a group is labelled `<name>`.
  Groups keep the order in which their first run appears; labels that would clash (one `<name>`
  directory holding two configs) get the suffix ` (2)`, ` (3)`, ...
  """
  by_key = collections.OrderedDict()
  for result in results:
    by_key.setdefault((result.name, result.config_key), []).append(result)
  groups = collections.OrderedDict()
  for (name, _), runs in by_key.items():
    label = base = name or _label([r.workdir for r in runs])
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


def _finite(values):
  return [float(v) for v in values
          if isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)]


def mean_interval(values, level=0.95):
  """`statistics.t_interval` of the finite values (None and NaN dropped); None when none are."""
  values = _finite(values)
  return statistics.t_interval(values, level) if values else None


def _number(value, digits):
  return f'{value:,.{digits}f}'


def _interval_text(interval, digits):
  text = _number(interval.estimate, digits)
  if interval.low is not None:
    text += f' [{_number(interval.low, digits)}, {_number(interval.high, digits)}]'
  return text


def _cell(runs, metric):
  interval = mean_interval([r.values.get(metric.key) for r in runs])
  if interval is None:
    return ''
  text = _interval_text(interval, metric.digits)
  return text if interval.n == len(runs) else f'{text} ({interval.n} of {len(runs)})'


_REFERENCE = 'real_data_reference'


def _real_data_row(groups):
  """The real-data reference of the runs' eval.json files, by metric key.

  `[<view>_]real_data_reference` (validation against held-out images in each feature view)
  gives `[<view>_]<metric>`; `sharpness_real` (the held-out images' sharpness) gives `sharpness`.
  """
  values = {}
  for runs in groups.values():
    for run in runs:
      reference = {}
      for key, scores in run.values.items():
        if key.endswith(_REFERENCE) and isinstance(scores, dict):
          prefix = key[:-len(_REFERENCE)]
          reference.update({prefix + metric: value for metric, value in scores.items()})
      if run.values.get('sharpness_real') is not None:
        reference['sharpness'] = run.values['sharpness_real']
      for key, value in reference.items():
        if value is not None:
          values.setdefault(key, []).append(value)
  return {key: float(np.mean(v)) for key, v in values.items()}


_ARROWS = {'higher': ' (up)', 'lower': ' (down)', 'real': ' (near real)', 'none': ''}


def markdown_table(groups, metrics=METRICS):
  """A Markdown table: one row per configuration, mean [95% CI] over its seeds (Student t).

  A cell is `mean [low, high]` (only the mean for a single seed), with `(k of n)` when only k
  of the configuration's n runs have the value, and empty when none has it (e.g. dequantised
  bits/dim of a delta-VAE, or a yardstick with no closed form). Columns no run has are left out.

  When the runs' eval.json files hold the real-data reference of a shown metric (validation
  images scored like generated ones, and the held-out images' sharpness), a last row shows it:
  the values a perfect model would reach with the same numbers of images.

  Returns:
    The table as text, '' when no run has any of `metrics`.
  """
  present = [m for m in metrics
             if any(r.values.get(m.key) is not None for runs in groups.values() for r in runs)]
  if not present:
    return ''
  header = '| configuration | seeds | ' + ' | '.join(
      f'{m.title}{_ARROWS[m.better]}' for m in present) + ' |'
  lines = [header, '|' + '---|' * (len(present) + 2)]
  for label, runs in groups.items():
    lines.append(f'| {label} | {len(runs)} | ' + ' | '.join(_cell(runs, m) for m in present)
                 + ' |')
  reference = _real_data_row(groups)
  if any(m.key in reference for m in present):
    cells = [f'{reference[m.key]:,.{m.digits}f}' if m.key in reference else '' for m in present]
    lines.append('| real images (reference) | | ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines) + '\n'


def _bootstrap_cell(run, key, digits, level, num_resamples, seed):
  values = run.per_image.get(key)
  if values is None:
    value = run.values.get(key)
    return '' if value is None else f'{_number(value, digits)} (no per-image values)'
  bad = int(np.count_nonzero(~np.isfinite(values)))
  if bad:
    return f'n/a ({bad} of {len(values)} per-image values not finite)'
  interval = statistics.bootstrap_interval(values, level, num_resamples, seed)
  return f'{_interval_text(interval, digits)} (n = {interval.n:,})'


def _checkpoint_name(run):
  checkpoint = run.values.get('checkpoint')
  if not checkpoint:
    return 'n/a'
  relative = os.path.relpath(checkpoint, run.workdir)
  return os.path.basename(checkpoint) if relative.startswith('..') else relative


def _seconds_text(value):
  if value is None:
    return ''
  return f'{value:,.1f}' if value < 10 else f'{value:,.0f}'


def runs_table(groups):
  """A Markdown table with one row per run: its seed, the checkpoint and step it was evaluated
  at, and its training and evaluation seconds.

  Args:
    groups: from `group_by_config`.

  Returns:
    The table as text.
  """
  lines = ['| configuration | run | seed | checkpoint evaluated | step | training (s) | '
           'evaluation (s) |', '|---|---|---|---|---|---|---|']
  for label, runs in groups.items():
    for run in runs:
      step = run.values.get('step')
      cells = [label, os.path.basename(run.workdir), '' if run.seed is None else str(run.seed),
               _checkpoint_name(run), 'n/a' if step is None else f'{int(step):,}',
               _seconds_text(run.values.get('train_seconds')),
               _seconds_text(run.values.get('eval_seconds'))]
      lines.append('| ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines) + '\n'


def bootstrap_table(groups, level=0.95, num_resamples=10_000, seed=0):
  """A Markdown table with one row per run: each per-image metric's mean over the test images
  with a percentile bootstrap interval.

  The bootstrap (`statistics.bootstrap_interval`, `num_resamples`, seeded) resamples the run's
  `eval_per_image.npz` values; a run without them shows its `eval.json` mean alone.

  Args:
    groups: from `group_by_config`.
    level: confidence level of the intervals.
    num_resamples: bootstrap resamples per run and metric.
    seed: bootstrap seed (the same for every run).

  Returns:
    The table as text, '' when no run has per-image values.
  """
  keys = {k for runs in groups.values() for r in runs for k in r.per_image}
  if not keys:
    return ''
  ordered = [m.key for m in metrics_for(groups) if m.key in keys]
  metrics = [metric_for(k) or Metric(k, k, 'none', 3)
             for k in ordered + sorted(keys - set(ordered))]
  lines = ['| configuration | run | ' + ' | '.join(f'{m.title} [{level:.0%} CI]' for m in metrics)
           + ' |', '|' + '---|' * (2 + len(metrics))]
  for label, runs in groups.items():
    for run in runs:
      cells = [label, os.path.basename(run.workdir)]
      cells += [_bootstrap_cell(run, m.key, m.digits, level, num_resamples, seed)
                for m in metrics]
      lines.append('| ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines) + '\n'


def _time_rows(groups):
  """`[(part, {label: [seconds per run]})]`: training, each evaluation part, the rest."""
  parts = []
  for runs in groups.values():
    for run in runs:
      for part in run.values.get('seconds') or {}:
        if part != 'total' and part not in parts:
          parts.append(part)
  rows = []
  for part in ['training'] + parts + ['evaluation, other']:
    by_label = {}
    for label, runs in groups.items():
      values = []
      for run in runs:
        seconds = run.values.get('seconds') or {}
        if part == 'training':
          value = run.values.get('train_seconds')
        elif part == 'evaluation, other':   # what no part's timer covered
          value = (seconds['total'] - sum(v for k, v in seconds.items() if k != 'total')
                   if 'total' in seconds else None)
        else:
          value = seconds.get(part)
        if value is not None:
          values.append(float(value))
      by_label[label] = values
    rows.append((part, by_label))
  return rows


def timing_table(groups):
  """A Markdown table of where the time went: rows are training and each evaluation part.

  A configuration's cell is the mean over its runs of the part's wall seconds (eval.json's
  `seconds`, metrics.json's `train_seconds`); the last columns sum the part over all runs and
  give its share of all runs' training and evaluation time together.

  Returns:
    The table as text, '' when no run has eval.json `seconds`.
  """
  if not any(r.values.get('seconds') for runs in groups.values() for r in runs):
    return ''
  rows = _time_rows(groups)
  total = sum(sum(v) for _, by_label in rows for v in by_label.values())
  lines = ['| part | ' + ' | '.join(groups) + ' | all runs (s) | share |',
           '|' + '---|' * (len(groups) + 3)]
  for part, by_label in rows:
    summed = sum(sum(v) for v in by_label.values())
    cells = [_seconds_text(float(np.mean(v))) if v else '' for v in by_label.values()]
    share = f'{summed / total:.1%}' if total > 0 else ''
    lines.append(f'| {part} | ' + ' | '.join(cells) + f' | {_seconds_text(summed)} | {share} |')
  return '\n'.join(lines) + '\n'


def parse_comparison(text):
  """A `comparisons.Comparison` from `metric:first>second` (higher is better) or `...<...`.

  `sharpness:laplace>gaussian` declares that configuration `laplace` has the higher sharpness;
  `frechet_distance:laplace<gaussian` that it has the lower FD.

  Raises:
    ValueError: naming `text` when it is not of that form.
  """
  match = re.fullmatch(r'\s*([^:<>]+?)\s*:\s*([^<>]+?)\s*([<>])\s*([^<>]+?)\s*', text)
  if not match:
    raise ValueError(f'cannot read comparison {text!r}: write metric:first>second (first has '
                     'the higher value) or metric:first<second, e.g. sharpness:laplace>gaussian.')
  metric, first, sign, second = match.groups()
  return comparisons.Comparison(metric, first, second, higher_is_better=sign == '>')


_CONFIGURATIONS_NOTE = (
    'Mean [{level:.0%} confidence interval] over seeds (Student t with n - 1 degrees of freedom; '
    'a single seed shows its value alone). "(k of n)": only k of the n seeds have the value; an '
    'empty cell: none has it.')
_SECTION_NOTES = {
    LIKELIHOODS: (
        'Nats per held-out image. The ELBO, IW and AIS columns are log p~(y) of data spread with '
        "each run's own kernel (a VAE baseline's: of the clean digits): they compare only "
        'between runs with the same spread. The log q~(y) columns score every run on the same '
        'spread data under the named kernel: they compare across model families; empty where '
        "the model's observation noise under that kernel has no closed form "
        '(eval.json `yardstick_*_reason`). Dequantised bits/dim: VAE baselines only (a delta-VAE '
        'has no density on clean data).'),
    SAMPLE_QUALITY: (
        'Generated images x = g(z) (no noise added) against the held-out images, mean over the '
        'generated sets. '
        'FD, KID, precision, recall: the first feature view (the digit classifier with '
        '--features=default); "autoencoder view": the blur-sensitive second view.'),
    STEPS_AND_TIME: (
        'The step each run was evaluated at (fixed and learned spreads compare only at '
        'comparable steps), its best validation step, and wall seconds.'),
}
_RUNS_NOTE = (
    'Each run: the checkpoint and step it was evaluated at, and its training and evaluation '
    'seconds.')
_BOOTSTRAP_NOTE = (
    "Each run's held-out numbers with a {level:.0%} percentile bootstrap interval over the test "
    'images ({resamples:,} resamples of eval_per_image.npz; n: the images scored, the first n '
    "of the test split): how much a run's number owes to the particular test images (and, for "
    'the likelihoods, to the spread noise drawn per image), not to its seed.')
_TIME_NOTE = (
    "Where the wall time went: each part's mean seconds per run of a configuration, its sum over "
    "all runs and its share of all training and evaluation time (eval.json `seconds`; "
    '"evaluation, other": what no part\'s timer covered).')
_COMPARISONS_NOTE = (
    'Each declared claim "first is better than second": difference of the seed means with its '
    '{level:.0%} Welch interval, Welch\'s t-test and a permutation test (two-sided; {holm}), '
    'Hedges\' g (the pooled-s.d. standardised difference with the small-sample correction). '
    'Verdict: "holds" / "reversed" when the Welch p is below {alpha} and the difference points '
    'the declared / the other way, else "not distinguishable"; a permutation p at or above '
    '{alpha} is noted.')


def _configuration_tables(groups, metrics):
  """One table per section of `metrics` that any run has (`### <section>`, note, table)."""
  parts = []
  for section in SECTIONS:
    table = markdown_table(groups, [m for m in metrics if m.section == section])
    if table:
      parts += [f'### {section}\n', _SECTION_NOTES[section] + '\n', table]
  return parts


def markdown_report(groups, declared=(), alpha=0.05, correction='holm', level=0.95,
                    num_resamples=10_000, seed=0, metrics=None):
  """The report as Markdown: configurations, runs, evaluation time and declared comparisons.

  The configurations section has one table per `SECTIONS` entry with values (likelihoods,
  sample quality, steps and time); the evaluation-time section appears when the runs' eval.json
  files have `seconds`, the comparisons section when comparisons are declared.

  Args:
    groups: from `group_by_config`.
    declared: `comparisons.Comparison`s to test (`claims.assess`).
    alpha: significance level of the verdicts.
    correction: 'holm' (default, over the declared comparisons) or 'none'.
    level: confidence level of every interval.
    num_resamples: bootstrap resamples per run and metric.
    seed: seed of the bootstrap and of any Monte Carlo permutation test.
    metrics: the columns of the configurations tables (None: `metrics_for(groups)`).

  Returns:
    The report as text.

  Raises:
    ValueError: for a comparison naming an unknown configuration or metric.
  """
  metrics = metrics_for(groups) if metrics is None else metrics
  declared = list(declared)
  found = claims.assess(groups, declared, alpha, correction, level, seed) if declared else []
  parts = ['## Configurations\n', _CONFIGURATIONS_NOTE.format(level=level) + '\n']
  parts += _configuration_tables(groups, metrics)
  parts += ['## Runs\n', _RUNS_NOTE + '\n', runs_table(groups)]
  bootstrap = bootstrap_table(groups, level, num_resamples, seed)
  if bootstrap:
    parts += ['### Per-image bootstrap\n',
              _BOOTSTRAP_NOTE.format(level=level, resamples=num_resamples) + '\n', bootstrap]
  timing = timing_table(groups)
  if timing:
    parts += ['## Evaluation time\n', _TIME_NOTE + '\n', timing]
  if found:
    tested = sum(claim.welch is not None for claim in found)
    if found[0].adjusted:
      holm = f'p-values Holm-adjusted over the {tested} tested claims, raw and adjusted shown'
    else:
      holm = 'p-values not adjusted' + (f' ({tested} tested claim)' if correction == 'holm' else '')
    digits = {claim.comparison.metric: (metric_for(claim.comparison.metric)
                                        or Metric('', '', 'none', 3)).digits for claim in found}
    parts += ['## Comparisons\n', _COMPARISONS_NOTE.format(level=level, alpha=alpha, holm=holm)
              + '\n', claims.markdown_table(found, digits)]
  return '\n'.join(parts)


def _save(fig, path):
  buffer = io.BytesIO()
  fig.savefig(buffer, format='png', dpi=100, bbox_inches='tight')
  files.write_bytes(path, buffer.getvalue())


def plot_metric(groups, metric, path):
  """A bar per configuration (mean, 95% t-interval over seeds) and a dot per seed, saved as PNG.

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
    interval = mean_interval(values)
    if interval is None:
      continue
    error = 0. if interval.low is None else [[interval.estimate - interval.low],
                                             [interval.high - interval.estimate]]
    ax.bar(i, interval.estimate, yerr=error, color='C0', alpha=0.6, capsize=4)
    ax.plot([i] * len(values), values, 'k.', markersize=5)
  ax.set_xticks(range(len(rows)), [label for label, _ in rows], rotation=20, ha='right')
  ax.set_ylabel(metric.title)
  better = {'higher': 'higher is better; ', 'lower': 'lower is better; ',
            'real': 'closer to real images is better; ', 'none': ''}[metric.better]
  ax.set_title(f'{metric.title} ({better}bars: mean, 95% CI over seeds)', fontsize=9)
  _save(fig, path)
  return path


def plot_sample_grids(groups, path, image_name=None):
  """The sample grid of each configuration's first run, side by side with its label.

  Args:
    groups: from `group_by_config`.
    path: output PNG (written atomically).
    image_name: None (the evaluation's grid, `WorkdirLayout.eval_samples`) or a file name in
      each workdir.

  Returns:
    `path`, or None when no run has the image.
  """
  panels = []
  for label, runs in groups.items():
    layout = workdir_layout.WorkdirLayout(runs[0].workdir)
    image_path = (layout.eval_samples if image_name is None
                  else os.path.join(layout.workdir, image_name))
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
