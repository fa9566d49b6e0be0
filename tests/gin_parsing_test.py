"""Tests of gin parsing for the launchers: errors that name the problem and what to do."""

import os
import re

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

  def _gin_file(self, text, name='bad.gin'):
    path = os.path.join(self.create_tempdir().full_path, name)
    with open(path, 'w') as f:
      f.write(text)
    return path

  # Each text ends in a bracket or string gin's tokenizer reads to the end of the file
  # (TokenError: 'EOF in multi-line statement'), or in one that swallows the next statement.
  @parameterized.named_parameters(
      ('bracket_open_at_the_end',
       'include "ica/demo.gin"\nrun.num_iterations = 3\nrun.seed = [0,\n', 3,
       "'[' is never closed (no ']')", 'run.seed = [0,'),
      ('bracket_open_mid_file', 'run.seed = (0\nrun.num_iterations = 3\n', 1,
       "'(' is never closed (no ')')", 'run.seed = (0'),
      ('bracket_closing_nothing', 'run.seed = 0\nrun.num_iterations = 3)\n', 2,
       "')' closes no bracket", 'run.num_iterations = 3)'),
      ('string_open_at_the_end', 'run.seed = 0\nrun.dtype = """float64\n', 2,
       'a string in triple quotes is never closed', 'run.dtype = """float64'))
  def test_syntax_error_in_a_gin_file_names_the_file_and_line(self, text, line, problem, shown):
    path = self._gin_file(text)
    with self.assertRaisesRegex(ValueError, re.escape(
        f"gin syntax error in gin file {path!r}, line {line}: {problem}\n    {shown}\n"
        'Bindings look like')):
      gin_parsing.parse(['ica/demo.gin', path], ['run.seed = 0'])

  def test_syntax_error_in_an_included_gin_file_names_the_included_file(self):
    included = self._gin_file('run.seed = {0: 1\n', 'included.gin')
    top = self._gin_file(f'include "ica/demo.gin"\ninclude "{included}"\nrun.seed = 1\n')
    with self.assertRaisesRegex(ValueError, re.escape(
        f"in gin file {included!r}, line 1: '{{' is never closed")):
      gin_parsing.parse([top], [])

  def test_gin_located_syntax_error_in_a_file_names_its_path(self):
    path = self._gin_file('include "ica/demo.gin"\nrun.seed = 0 1\n')
    with self.assertRaisesRegex(ValueError, re.escape(
        f'gin syntax error in gin file {path!r}, line 2: Expected newline.\n    run.seed = 0 1')):
      gin_parsing.parse([path], [])

  @parameterized.named_parameters(
      ('bracket_open_in_the_last', ['run.seed = 0', 'run.num_iterations = (3'], 2, 1,
       "'(' is never closed (no ')')", 'run.num_iterations = (3'),
      # gin fails at `run` of the next binding, inside the bracket: the bracket is named.
      ('bracket_open_before_another', ['run.seed = [0,', 'run.num_iterations = 3'], 1, 1,
       "'[' is never closed (no ']')", 'run.seed = [0,'),
      ('second_line_of_a_binding', ['run.seed = 0', 'run.seed = 1\nrun.dtype = (1]'], 2, 2,
       "']' closes no bracket (the open bracket is '(')", 'run.dtype = (1]'),
      # Not a bracket: gin's own message, at the line of the binding (not of all joined).
      ('gin_located', ['run.seed = 0', 'run.seed = 1', 'run.num_iterations = 3 4'], 3, 1,
       'Expected newline.', 'run.num_iterations = 3 4'))
  def test_syntax_error_in_a_binding_names_the_binding_and_line(self, bindings, index, line,
                                                                 problem, shown):
    with self.assertRaisesRegex(ValueError, re.escape(
        f'gin syntax error in binding {index} of {len(bindings)} '
        f'(--gin_bindings={bindings[index - 1]!r}), line {line}: {problem}\n    {shown}\n'
        'Bindings look like')):
      gin_parsing.parse(['ica/demo.gin'], bindings)

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
