"""absltest's `create_tempdir` reads --test_tmpdir, so mark absl flags parsed under pytest."""

from absl import flags

if not flags.FLAGS.is_parsed():
  flags.FLAGS.mark_as_parsed()
