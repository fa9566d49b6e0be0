r"""Gathers several runs into a report (mean [95% CI] over seeds, declared comparisons) and plots.

  python launch/report.py --runs='runs/mnist5k/*/seed=*' --out=runs/mnist5k/report \
      --compare='sharpness:delta_vae_laplace>delta_vae_gaussian'

Reads metrics.json, eval.json and operative_config.gin of every run (glob patterns allowed),
groups runs whose configs differ only in the seed (see spreadtf/evaluation/report.py), and writes
<out>/report.md (configurations, runs, and a Welch / permutation test with a verdict for each
`--compare`), one <out>/<metric>.png per metric and <out>/samples.png (each configuration's
eval_samples.png side by side). The report is also printed
(spreadtf.evaluation.commands.write_report).
"""

from absl import app
from absl import flags

from spreadtf.evaluation import commands

__all__ = []

flags.DEFINE_list('runs', None, 'Run directories or glob patterns (comma-separated).')
flags.DEFINE_string('out', None, 'Output directory of report.md and the plots.')
flags.DEFINE_multi_string('compare', [], 'A declared comparison, metric:first>second (first '
                          'has the higher value) or metric:first<second; repeatable.')
FLAGS = flags.FLAGS


def main(argv):
  del argv
  commands.write_report(FLAGS.runs, FLAGS.out, FLAGS.compare)


if __name__ == '__main__':
  flags.mark_flags_as_required(['runs', 'out'])
  app.run(main)
