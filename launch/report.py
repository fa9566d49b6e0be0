r"""Gathers several runs into a report (mean [95% CI] over seeds, declared comparisons) and plots.

  python launch/report.py --runs='runs/mnist5k/*/seed=*' --out=runs/mnist5k/report \
      --compare='sharpness:delta_vae_laplace>delta_vae_gaussian'

Reads metrics.json, eval.json and operative_config.gin of every run (glob patterns allowed),
groups runs whose configs differ only in the seed (see spreadtf/evaluation/report.py), and writes
<out>/report.md (configurations, runs, and a Welch / permutation test with a verdict for each
`--compare`), one <out>/<metric>.png per metric and <out>/samples.png (each configuration's
eval_samples.png side by side). The report is also printed.
"""

import os

from absl import app
from absl import flags
import tensorflow as tf

from spreadtf import files
from spreadtf.evaluation import report

__all__ = []

flags.DEFINE_list('runs', None, 'Run directories or glob patterns (comma-separated).')
flags.DEFINE_string('out', None, 'Output directory of report.md and the plots.')
flags.DEFINE_multi_string('compare', [], 'A declared comparison, metric:first>second (first '
                          'has the higher value) or metric:first<second; repeatable.')
FLAGS = flags.FLAGS


def main(argv):
  del argv
  groups = report.group_by_config([report.load_results(w) for w in report.find_runs(FLAGS.runs)])
  table = report.markdown_report(groups, [report.parse_comparison(c) for c in FLAGS.compare])
  tf.io.gfile.makedirs(FLAGS.out)
  files.write_text(os.path.join(FLAGS.out, 'report.md'), table)
  for metric in report.METRICS:
    report.plot_metric(groups, metric, os.path.join(FLAGS.out, f'{metric.key}.png'))
  report.plot_sample_grids(groups, os.path.join(FLAGS.out, 'samples.png'))
  print(table)


if __name__ == '__main__':
  flags.mark_flags_as_required(['runs', 'out'])
  app.run(main)
