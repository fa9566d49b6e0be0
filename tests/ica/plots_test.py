"""Tests for spreadtf.ica.plots: both ICA figures are PNG bytes of the expected size."""

from absl.testing import parameterized
import tensorflow as tf

from spreadtf.ica import plots


def _size(png):
  image = tf.io.decode_png(png)
  return int(image.shape[0]), int(image.shape[1])


class PlotsTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(('with_fastica', 0.02), ('without_fastica', None))
  def test_error_vs_iteration_is_a_6_by_4_inch_png(self, fastica_error):
    curves = {'spread_em': [(0, 1.), (10, 0.1)], 'standard_em': [(0, 1.), (10, 0.9)]}
    self.assertEqual(_size(plots.error_vs_iteration(curves, fastica_error, 'title')), (400, 600))

  @parameterized.named_parameters(('log_axis', ['0.5', '0.05', '0.005']),
                                  ('symlog_axis', ['0.1', '0.01', '0.']),
                                  ('linear_axis', ['1', '2']))
  def test_error_vs_parameter_is_a_png_for_every_axis_kind(self, values):
    rows = [dict(method=method, value=value, relative_error=0.1 * (seed + 1))
            for value in values for seed in range(2) for method in ('spread_em', 'fastica')]
    self.assertEqual(_size(plots.error_vs_parameter(rows, 'GAMMA')), (400, 600))

  def test_error_vs_parameter_leaves_out_missing_errors(self):
    rows = [dict(method='spread_em', value='1', relative_error=0.1),
            dict(method='spread_em', value='2', relative_error=''),
            dict(method='standard_em', value='1', relative_error=None)]
    self.assertEqual(_size(plots.error_vs_parameter(rows, 'N')), (400, 600))


if __name__ == '__main__':
  tf.test.main()
