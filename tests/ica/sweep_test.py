"""spreadtf.ica.sweep in process: the points of a grid and the merge (processes: end_to_end)."""

import csv
import json
import os

import tensorflow as tf

from spreadtf.ica import ica_run
from spreadtf.ica import sweep


class SweepTest(tf.test.TestCase):

  def test_points_are_value_major_each_with_its_own_resolved_config(self):
    workdir = self.create_tempdir().full_path
    parameter, points = sweep.sweep_points(workdir, ['ica/fig1b.gin'], values=['100', '200'],
                                           seeds=['0', '1'])
    self.assertEqual(parameter, 'NUM_POINTS')
    self.assertEqual([p.key for p in points], [('100', 0), ('100', 1), ('200', 0), ('200', 1)])
    self.assertEqual(points[2].name, 'NUM_POINTS = 200, seed 0')
    self.assertEqual(points[2].directory, os.path.join(workdir, 'NUM_POINTS=200', 'seed=0'))
    self.assertIn('NUM_POINTS = 200', points[2].config)
    self.assertIn('run.seed = 0', points[2].config)
    # The grid macros are unset per point, so growing the grid keeps the records valid.
    self.assertIn('SWEEP_VALUES = None', points[2].config)
    self.assertLen({p.config for p in points}, 4)

  def test_the_gin_grid_is_used_without_overrides(self):
    _, points = sweep.sweep_points(self.create_tempdir().full_path, ['ica/fig1b.gin'])
    self.assertLen(points, 8 * 10)   # fig1b.gin: 8 values of N x 10 seeds
    self.assertEqual(points[0].key, ('20', 0))

  def test_merge_writes_a_row_per_point_and_method_and_the_plot(self):
    workdir = self.create_tempdir().full_path
    _, points = sweep.sweep_points(workdir, ['ica/fig1b.gin'], values=['100', '200'],
                                   seeds=['0'])
    for i, point in enumerate(points):
      os.makedirs(point.directory)
      result = {name: dict(relative_error=0.1 * (i + 1), relative_error_rescaled=0.2,
                           amari_distance=0.3, wall_s=1., iterations=3)
                for name in ica_run.METHODS[:2]}
      with open(os.path.join(point.directory, sweep.METRICS), 'w') as f:
        json.dump(result, f)
    self.assertEqual(sweep.merge(workdir, 'NUM_POINTS', points), 4)
    with open(os.path.join(workdir, 'results.csv')) as f:
      rows = list(csv.DictReader(f))
    self.assertEqual([(r['value'], r['seed'], r['method']) for r in rows],
                     [('100', '0', 'spread_em'), ('100', '0', 'standard_em'),
                      ('200', '0', 'spread_em'), ('200', '0', 'standard_em')])
    self.assertEqual(float(rows[2]['relative_error']), 0.2)
    with open(os.path.join(workdir, 'error_vs_num_points.png'), 'rb') as f:
      self.assertEqual(f.read(8), b'\x89PNG\r\n\x1a\n')


if __name__ == '__main__':
  tf.test.main()
