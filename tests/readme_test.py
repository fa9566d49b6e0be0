"""The README's Python example runs as written."""

import pathlib
import re

import tensorflow as tf


class ReadmeTest(tf.test.TestCase):

  def test_readme_python_examples_run(self):
    readme = pathlib.Path(__file__).resolve().parents[1] / 'README.md'
    blocks = re.findall(r'```python\n(.*?)```', readme.read_text(), flags=re.S)
    self.assertNotEmpty(blocks)
    for block in blocks:
      exec(compile(block, str(readme), 'exec'), {'__name__': 'readme'})  # pylint: disable=exec-used


if __name__ == '__main__':
  tf.test.main()
