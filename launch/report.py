r"""Gathers several runs into a Markdown table (mean +- standard error over seeds) and plots.

  python launch/report.py --runs='runs/mnist5k/*/seed=*' --out=runs/mnist5k/report

Reads metrics.json, eval.json and operative_config.gin of every run (glob patterns allowed),
groups runs whose configs differ only in the seed (see spreadtf/evaluation/report.py), and writes
<out>/report.md, one <out>/<metric>.png per metric and <out>/samples.png (each configuration's
eval_samples.png side by side). The table is also printed.
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
FLAGS = flags.FLAGS


def main(argv):
  del argv
  groups = report.group_by_config([report.load_results(w) for w in report.find_runs(FLAGS.runs)])
  tf.io.gfile.makedirs(FLAGS.out)
  table = report.markdown_table(groups)
  files.write_text(os.path.join(FLAGS.out, 'report.md'), table)
  for metric in report.METRICS:
    report.plot_metric(groups, metric, os.path.join(FLAGS.out, f'{metric.key}.png'))
  report.plot_sample_grids(groups, os.path.join(FLAGS.out, 'samples.png'))
  print(table)


if __name__ == '__main__':
  flags.mark_flags_as_required(['runs', 'out'])
  app.run(main)
