"""Tests of the lazy top-level package: the API, `dir()`, and imports without TFP."""

import os
import subprocess
import sys
import textwrap

from absl.testing import parameterized
import tensorflow as tf

import spreadtf
from spreadtf import spreads

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class PackageTest(tf.test.TestCase, parameterized.TestCase):

  def test_every_public_name_is_the_spreads_object(self):
    for name in spreadtf.__all__:
      self.assertIs(getattr(spreadtf, name), getattr(spreads, name), name)
    from spreadtf import GaussianSpread  # pylint: disable=g-import-not-at-top
    self.assertIs(GaussianSpread, spreads.GaussianSpread)

  def test_dir_lists_the_api_and_submodules(self):
    self.assertContainsSubset(spreadtf.__all__ + ['ica', 'images', 'seeding', '__version__'],
                              dir(spreadtf))

  def test_unknown_attribute_is_an_attribute_error(self):
    with self.assertRaisesRegex(AttributeError, 'no attribute .not_there.'):
      _ = spreadtf.not_there

  def test_importing_the_package_and_tf_only_modules_does_not_import_tfp(self):
    script = textwrap.dedent('''
        import sys
        import spreadtf
        from spreadtf import files, images, seeding
        assert 'tensorflow_probability' not in sys.modules, 'TFP imported too early'
        spreadtf.GaussianSpread(1.)
        assert 'tensorflow_probability' in sys.modules
        print('ok')
    ''')
    out = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                         cwd=_REPO, env=dict(os.environ, PYTHONPATH=_REPO,
                                             TF_CPP_MIN_LOG_LEVEL='3'), timeout=300)
    self.assertEqual(out.returncode, 0, out.stderr[-3000:])
    self.assertEqual(out.stdout.strip(), 'ok')


if __name__ == '__main__':
  tf.test.main()
