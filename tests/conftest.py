"""Shared pytest configuration."""

import os

from absl import flags

# Quieter TensorFlow C++ logs in test output (set before TensorFlow is imported).
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

# absltest's `create_tempdir` reads --test_tmpdir: mark absl flags parsed under pytest.
if not flags.FLAGS.is_parsed():
  flags.FLAGS.mark_as_parsed()


def pytest_collection_modifyitems(config, items):
  """Drops `tf.test.TestCase.test_session`, a context manager that pytest mistakes for a test."""
  del config
  items[:] = [item for item in items if item.name != 'test_session']
