"""Calibrates the sample-quality metrics: held-out mnist5k digits with known defects, scored.

  python launch/calibrate_metrics.py --num_repeats=5 --out=runs/calibration

Scores real held-out digits, the same blurred, noisy, shifted and with half the classes dropped,
against other held-out digits with FD, KID, precision and recall in both shipped feature views
(spreadtf/evaluation/calibration.py), over --num_repeats draws of the candidates. Prints the
markdown table of docs/sample_quality.md and, with --out, writes calibration.md and
calibration.json (every repeat's numbers) there.
"""

import json
import os

from absl import app
from absl import flags

from spreadtf import files
from spreadtf.evaluation import calibration
from spreadtf.evaluation import shipped_features

flags.DEFINE_integer('num_repeats', 5, 'Draws of the candidate digits.', lower_bound=1)
flags.DEFINE_integer('num_candidates', 500, 'Held-out digits per candidate set.', lower_bound=10)
flags.DEFINE_string('out', None, 'Directory for calibration.md and calibration.json (optional).')
FLAGS = flags.FLAGS


def main(argv):
  del argv
  rows, repeats = calibration.mnist5k_calibration(
      shipped_features.load_default_extractors(), num_repeats=FLAGS.num_repeats,
      num_candidates=FLAGS.num_candidates)
  table = calibration.markdown_table(rows)
  print(table)
  if FLAGS.out:
    os.makedirs(FLAGS.out, exist_ok=True)
    files.write_text(os.path.join(FLAGS.out, 'calibration.md'), table + '\n')
    files.write_json(os.path.join(FLAGS.out, 'calibration.json'), {'repeats': repeats})
    print(json.dumps({'wrote': FLAGS.out}))


if __name__ == '__main__':
  app.run(main)
