"""What the evaluation launchers do: evaluate a run, write a report, train the feature extractor.

Each function is the whole body of one launcher, so a launcher is its flags and one call, and the
same work runs from Python (the study runner calls `write_report`):

    commands.evaluate_workdir('runs/mnist5k/gaussian/seed=0', features='none')  # launch/evaluate.py
    commands.write_report(['runs/mnist5k/*/seed=*'], 'runs/mnist5k/report')    # launch/report.py
    commands.train_features('autoencoder', 'runs/features')               # launch/train_features.py

`EVALUATE_OPTIONS` names the options of `evaluate_workdir` (and the flags of `launch/evaluate.py`,
which mirror them), so a study file's evaluation options can be checked before anything runs.
"""

import inspect
import json
import os

from absl import logging
import tensorflow as tf

from spreadtf import files
from spreadtf import gin_parsing
from spreadtf.evaluation import evaluation_run
from spreadtf.evaluation import features as features_lib
from spreadtf.evaluation import report
from spreadtf.evaluation import shipped_features
from spreadtf.evaluation import yardstick as yardstick_lib
from spreadtf.training import workdir_layout

__all__ = ['DEFAULT_FEATURES_OUT', 'EVALUATE_OPTIONS', 'REPEATED_OPTIONS', 'feature_extractor',
           'evaluate_workdir', 'write_report', 'train_features']

# Where launch/train_features.py writes by default: the repository's runs/features (so the
# shipped weights in spreadtf/evaluation/weights are not overwritten by accident).
DEFAULT_FEATURES_OUT = os.path.join(os.path.dirname(gin_parsing.GIN_DIR), 'runs', 'features')


def feature_extractor(features='default', inception_weights=None):
  """The feature extractor(s) `--features` and `--inception_weights` name, or None.

  Args:
    features: 'default' (both shipped mnist5k views, `shipped_features.load_default_extractors`),
      'classifier' or 'autoencoder' (one shipped view), 'none' (no sample-quality metrics), or a
      SavedModel / .keras path.
    inception_weights: None, or an InceptionV3 (no top) weights file: its pool features win
      over `features`.

  Returns:
    A `spreadtf.evaluation.features.FeatureExtractor`, a `{view: FeatureExtractor}` dict, or
    None for 'none'.
  """
  if features == 'none' and not inception_weights:
    return None
  if inception_weights:
    return features_lib.inception_v3(inception_weights)
  if features == 'default':
    return shipped_features.load_default_extractors()
  if features in shipped_features.SHIPPED:
    return {features: shipped_features.load_extractor(features)}
  return features_lib.load_feature_extractor(features)


def evaluate_workdir(workdir, num_importance_samples=1000, max_likelihood_images=None,
                     iw_sweep=(), ais_steps=0, ais_chains=8, max_ais_images=None, bdmc=False,
                     yardstick=(), max_images=None, num_samples=None, num_sample_sets=5,
                     features='default', inception_weights=None, checkpoint='selected', seed=0,
                     gin_bindings=()):
  """Evaluates a training run into `<workdir>/eval.json` and prints the headline numbers.

  Args:
    workdir: the training run to evaluate.
    num_importance_samples: K of the importance-weighted likelihood (0 skips it); also the
      samples of the dequantised baseline likelihood.
    max_likelihood_images: None, or score only the first N held-out images with the IW
      likelihood.
    iw_sweep: K values (ints or digit strings) of an IW sweep on one spread draw per image
      (empty: none).
    ais_steps: AIS intermediate distributions (0: no AIS).
    ais_chains: AIS chains per image.
    max_ais_images: None, or score only the first N held-out images with AIS (and simulate N
      for BDMC).
    bdmc: also the BDMC gap (needs `ais_steps`).
    yardstick: kernels to score the run under on the same spread data as every other run
      evaluated with this seed (`spreadtf.evaluation.yardstick`): `family:scale` strings, each
      one or several separated by commas (`'gaussian:0.3,laplace:0.2'`), by IW with K =
      `num_importance_samples` and, with `ais_steps`, by AIS on the first `max_ais_images`.
    max_images: None, or use at most N held-out images.
    num_samples: generated images per set for FD / KID / precision / recall (None: as many as
      held-out images).
    num_sample_sets: independent generated sets; the sample-quality metrics are their mean, with
      `<metric>_std_over_sets`.
    features: the feature extractor (see `feature_extractor`).
    inception_weights: None, or InceptionV3 weights whose pool features are used instead.
    checkpoint: 'selected' (the checkpoint the run exported), 'best', 'latest' or a checkpoint
      prefix.
    seed: the evaluation seed.
    gin_bindings: bindings applied after the run's own config.

  Returns:
    The `eval.json` dict (see `spreadtf.evaluation.evaluation_run.evaluate`).

  Raises:
    ValueError: for a bad yardstick, or one without IW or AIS, before anything is loaded.
  """
  # A bad entry is named before the extractor loads.
  yardstick_lib.check(yardstick, num_importance_samples, ais_steps)
  extractor = feature_extractor(features, inception_weights)
  result = evaluation_run.evaluate(
      workdir, num_importance_samples=num_importance_samples, feature_extractor=extractor,
      num_samples=num_samples, num_sample_sets=num_sample_sets, max_images=max_images,
      max_likelihood_images=max_likelihood_images, seed=seed, gin_bindings=gin_bindings,
      checkpoint=checkpoint,
      likelihood_options=dict(
          iw_sweep=[int(k) for k in iw_sweep], ais_steps=ais_steps, ais_chains=ais_chains,
          max_ais_images=max_ais_images, bdmc=bdmc,
          dequantized_samples=num_importance_samples),
      yardsticks=yardstick)
  logging.info('wrote %s', workdir_layout.WorkdirLayout(workdir).eval)
  print(json.dumps(evaluation_run.summary(result), indent=1))
  return result


EVALUATE_OPTIONS = tuple(name for name in inspect.signature(evaluate_workdir).parameters
                         if name != 'workdir')
# Options whose launcher flag repeats (one value per flag); other list options are one
# comma-separated flag (`--iw_sweep=1,10,100`).
REPEATED_OPTIONS = ('gin_bindings',)


def write_report(run_dirs, out, comparisons=()):
  """Gathers runs into `<out>/report.md`, one `<out>/<metric>.png` per metric and `samples.png`.

  Runs whose configs differ only in the seed form one configuration
  (`spreadtf.evaluation.report`); the report gives each configuration's mean [95% CI], each run,
  and tests the declared comparisons (`report.markdown_report`). Every file is written
  atomically, and the same runs give the same files, so writing the report twice (two study
  shards finishing at once) is harmless. The report is also printed.

  Args:
    run_dirs: run directories or glob patterns, in order.
    out: the output directory (created if needed).
    comparisons: declared comparisons: `spreadtf.evaluation.comparisons.Comparison`s or
      `metric:first>second` / `metric:first<second` strings (`report.parse_comparison`).

  Returns:
    The text of report.md.

  Raises:
    FileNotFoundError: naming a pattern that matches no directory, or a run with neither
      metrics.json nor eval.json.
    ValueError: for a comparison that cannot be read or names an unknown configuration or
      metric.
  """
  groups = report.group_by_config([report.load_results(w) for w in report.find_runs(run_dirs)])
  declared = [report.parse_comparison(c) if isinstance(c, str) else c for c in comparisons]
  text = report.markdown_report(groups, declared)
  tf.io.gfile.makedirs(out)
  files.write_text(os.path.join(out, 'report.md'), text)
  for metric in report.metrics_for(groups):
    report.plot_metric(groups, metric, os.path.join(out, f'{metric.key}.png'))
  report.plot_sample_grids(groups, os.path.join(out, 'samples.png'))
  print(text)
  return text


def train_features(extractor, out, seed=0, epochs=None, num_train=None):
  """Trains a shipped feature view (`shipped_features.train_view`) with op determinism on.

  Args:
    extractor: 'classifier' or 'autoencoder'.
    out: output directory of `<name>.weights.h5` and `<name>.json`.
    seed: the run's seed (a seed gives bit-identical weights on one machine).
    epochs: None (the shipped file's epochs) or passes over the training digits.
    num_train: None (all training digits) or fewer, for smoke runs.

  Returns:
    The summary dict; it is printed, then the file's SHA-256 and whether it is byte for byte
    the shipped one.
  """
  # Bit-identical reruns for a seed (without it, threaded reductions may differ in the last bits).
  tf.config.experimental.enable_op_determinism()
  summary = shipped_features.train_view(extractor, out, seed=seed, epochs=epochs,
                                        num_train=num_train)
  print(json.dumps(summary))
  verdict = ('byte for byte the shipped file' if summary['matches_pinned'] else
             f"not the shipped file (pinned {summary['pinned_sha256']})")
  print(f"wrote {summary['weights']}: SHA-256 {summary['sha256']}, {verdict}")
  return summary
