"""Shared pytest configuration."""

import os

# Quieter TensorFlow C++ logs in test output (set before TensorFlow is imported).
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')


def pytest_collection_modifyitems(config, items):
  """Drops `tf.test.TestCase.test_session`, a context manager that pytest mistakes for a test."""
  del config
  items[:] = [item for item in items if item.name != 'test_session']
