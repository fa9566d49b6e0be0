"""Tests for the kernels' argument conversions and checks (spreadtf/spreads/arguments.py)."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from spreadtf.spreads import arguments


class ArgumentsTest(tf.test.TestCase, parameterized.TestCase):

  def test_convert_floating_keeps_variables_and_converts_constants_to_the_dtype(self):
    variable = tf.Variable(1.)
    self.assertIs(arguments.convert_floating(variable, 'scale'), variable)
    self.assertEqual(arguments.convert_floating(0.5, 'scale').dtype, tf.float32)
    self.assertEqual(arguments.convert_floating([0.5], 'scale', dtype=tf.float64).dtype,
                     tf.float64)
    self.assertEqual(arguments.convert_floating(np.float64(0.5), 'scale').dtype, tf.float64)

  @parameterized.named_parameters(
      ('integer_tensor', tf.constant(1), None, '`scale` must have a floating dtype, got int32'),
      ('string', 'a', None, '`scale` must be a number or a floating tensor, got str'),
      ('other_float', tf.constant(1., tf.float64), tf.float32,
       '`scale` has dtype float64 but the spread kernel uses float32; cast it first'),
  )
  def test_convert_floating_names_the_argument_in_its_error(self, value, dtype, message):
    with self.assertRaisesRegex(TypeError, message):
      arguments.convert_floating(value, 'scale', dtype=dtype)

  def test_positive_number_and_int_checks_refuse_bools_and_non_finite_values(self):
    self.assertTrue(arguments.is_positive_int(np.int64(3)))
    for value in (0, -1, True, 1.0, '1'):
      self.assertFalse(arguments.is_positive_int(value), value)
    self.assertTrue(arguments.is_positive_number(0.1))
    for value in (0., -1., True, np.inf, np.nan):
      self.assertFalse(arguments.is_positive_number(value), value)

  def test_init_seed_maps_an_int_to_a_fixed_stateless_seed(self):
    self.assertAllEqual(arguments.init_seed(7), [0, 7])
    self.assertAllEqual(arguments.init_seed(np.int32(7)), [0, 7])
    self.assertAllEqual(arguments.init_seed(tf.constant([3, 4])), [3, 4])
    self.assertEqual(arguments.init_seed(None).shape, [2])


if __name__ == '__main__':
  tf.test.main()
