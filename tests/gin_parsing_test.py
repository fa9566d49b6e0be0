"""Tests of gin parsing for the launchers: errors that name the problem and what to do."""


from absl.testing import parameterized
import gin
import tensorflow as tf

from spreadtf import gin_parsing


class ParseTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  def test_parses_files_then_bindings(self):
    gin_parsing.parse(['ica/demo.gin'], ['run.num_iterations = 7', 'GAMMA = 0.5'])
    self.assertEqual(gin.query_parameter('run.num_iterations'), 7)
    self.assertEqual(gin.query_parameter('%GAMMA'), 0.5)

  @parameterized.named_parameters(
      ('unknown_parameter', 'run.num_iteration = 3', "doesn't have a parameter named "
       "'num_iteration'"),
      ('unknown_configurable', 'Run.seed = 3', "No configurable matching 'Run'"),
      ('malformed_value', 'run.dtype = float64', "Failed to parse token 'float64'"),
      ('missing_value', 'run.num_iterations = ', 'Unable to parse'))
  def test_bad_binding_names_it_and_how_bindings_look(self, binding, problem):
    with self.assertRaisesRegex(ValueError, f'(?s){problem}.*Bindings look like'):
      gin_parsing.parse(['ica/demo.gin'], [binding])

  def test_missing_gin_file_names_close_shipped_files(self):
    with self.assertRaisesRegex(FileNotFoundError,
                                '(?s)ica/dmeo.gin.*relative to .*gin.*Did you mean ica/demo.gin'):
      gin_parsing.parse(['ica/dmeo.gin'], [])

  def test_misspelt_macro_is_an_error_naming_the_macros_in_use(self):
    with self.assertRaisesRegex(ValueError, r"macro\(s\) \['GAMA'\] that no config uses.*'GAMMA'"):
      gin_parsing.parse(['ica/demo.gin'], ['GAMA = 0.'])

  def test_macros_read_by_the_caller_are_not_unused(self):
    gin_parsing.parse(['ica/fig1b.gin'], ['SWEEP_SEEDS = [0]', 'run.seed = 0'],
                 used_macros=['SWEEP_SEEDS'])
    self.assertEqual(gin.query_parameter('%SWEEP_SEEDS'), [0])

  def test_unused_macros_reads_multi_line_bindings(self):
    text = 'run.gamma = %GAMMA\nrun.x_dim = %X_DIM\n'
    self.assertEqual(gin_parsing.unused_macros(['GAMMA = 1\nGAMMA_2 = 2', 'run.seed = 0'], text),
                     ['GAMMA_2'])


if __name__ == '__main__':
  tf.test.main()
