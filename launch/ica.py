r"""Runs deterministic ICA with spread EM, standard EM and FastICA, configured by gin.

  python launch/ica.py --gin_file=ica/demo.gin --workdir=runs/demo \
      --gin_bindings='run.num_iterations = 100'

Writes operative_config.gin, metrics.json, TensorBoard scalars and error_vs_iteration.png into
--workdir (see spreadtf/ica/ica_run.py) and prints the final table. A missing gin file, an
unknown binding or a misspelt macro stops it before it writes anything (spreadtf/gin_parsing.py).
"""


from absl import app
from absl import flags
from absl import logging
import gin

from spreadtf import gin_parsing
from spreadtf.ica import ica_run

__all__ = []


flags.DEFINE_string('workdir', None, 'Output directory: metrics, plots, TensorBoard, config.')
flags.DEFINE_multi_string('gin_file', [], 'Gin files, relative to the repo gin/ directory.')
flags.DEFINE_multi_string('gin_bindings', [], 'Extra gin bindings, applied last.')
FLAGS = flags.FLAGS


def main(argv):
  del argv
  gin_parsing.parse(FLAGS.gin_file, FLAGS.gin_bindings)
  logging.info('Gin config:\n%s', gin.config_str())
  results = ica_run.run(workdir=FLAGS.workdir)
  print(ica_run.format_table(results))


if __name__ == '__main__':
  flags.mark_flag_as_required('workdir')
  app.run(main)
