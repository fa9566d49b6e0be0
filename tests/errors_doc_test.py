"""docs/errors.md: every bad-input row names tests, and every named test exists."""

import ast
import pathlib
import re

import tensorflow as tf

_REPO = pathlib.Path(__file__).resolve().parents[1]
_REFERENCE = re.compile(r'`(tests/[\w/]+\.py)::(\w+)::(\w+)`')


def _test_names(path):
  """`{class name: {method names}}` of a test file, read without importing it."""
  tree = ast.parse(path.read_text())
  return {node.name: {item.name for item in node.body if isinstance(item, ast.FunctionDef)}
          for node in tree.body if isinstance(node, ast.ClassDef)}


class ErrorsDocTest(tf.test.TestCase):

  def test_every_row_names_a_test_that_exists(self):
    text = (_REPO / 'docs' / 'errors.md').read_text()
    rows = [line for line in text.splitlines()
            if line.startswith('| ') and not line.startswith(('| Bad input', '|---'))]
    self.assertGreaterEqual(len(rows), 15)
    for row in rows:
      references = _REFERENCE.findall(row) or (['same test'] if 'same test' in row else [])
      self.assertNotEmpty(references, row)
    for file, cls, method in _REFERENCE.findall(text):
      names = _test_names(_REPO / file)
      self.assertIn(cls, names, file)
      self.assertIn(method, names[cls], f'{file}::{cls}')


if __name__ == '__main__':
  tf.test.main()
