"""Tests of data fingerprints: recorded by a factory, found through a user's pipeline steps."""

import hashlib
import os

import numpy as np
import tensorflow as tf

from spreadtf.data import fake
from spreadtf.data import fingerprints


def _fingerprint(split, *, size):
  return {'source': 'test source', 'split': split, 'size': size}


class FingerprintsTest(tf.test.TestCase):

  def test_a_recorded_fingerprint_is_found_through_pipeline_steps(self):
    dataset = fingerprints.record(tf.data.Dataset.range(8), _fingerprint, 'train', size=8)
    built = dataset.map(lambda x: x * 2).shuffle(8, seed=0).batch(2).prefetch(1)
    expected = {'source': 'test source', 'split': 'train', 'size': 8}
    self.assertEqual(fingerprints.of(dataset), expected)
    self.assertEqual(fingerprints.of(built), expected)

  def test_a_pipeline_without_a_recorded_source_has_none(self):
    self.assertIsNone(fingerprints.of(tf.data.Dataset.range(8).batch(2)))

  def test_several_sources_are_combined_in_input_order(self):
    first = fingerprints.record(tf.data.Dataset.range(2), _fingerprint, 'train', size=2)
    second = fake.make_fake_dataset('train', 2, 0, image_shape=(2, 2, 1), num_examples=4)
    combined = fingerprints.of(tf.data.Dataset.zip((first, second)))
    self.assertEqual(combined['source'], 'test source + fake images')
    self.assertEqual((combined['0.size'], combined['1.num_examples']), (2, 4))

  def test_differences_name_each_changed_key_then_and_now(self):
    then = {'source': 's', 'files': 20, 'sha256': 'a' * 64}
    now = {'source': 's', 'files': 22, 'sha256': 'b' * 64, 'new': 1}
    self.assertEqual(fingerprints.differences(then, now), [
        'files: 20 then, 22 now', 'new: (none) then, 1 now',
        f'sha256: {"a" * 12} then, {"b" * 12} now'])  # Hashes shortened to 12 characters.
    self.assertEqual(fingerprints.differences(then, dict(then)), [])

  def test_hashes_are_sha256_of_the_content(self):
    path = os.path.join(self.create_tempdir().full_path, 'f')
    content = os.urandom(3 * (1 << 20) + 5)  # Several read chunks.
    with open(path, 'wb') as f:
      f.write(content)
    self.assertEqual(fingerprints.sha256_of_file(path), hashlib.sha256(content).hexdigest())
    self.assertEqual(fingerprints.sha256_of_lines(['a', 'b']),
                     hashlib.sha256(b'a\nb\n').hexdigest())
    array = np.arange(6, dtype=np.float32)
    self.assertNotEqual(fingerprints.sha256_of_array(array),
                        fingerprints.sha256_of_array(array.reshape(2, 3)))  # Shape counts.
    self.assertEqual(fingerprints.sha256_of_array(array),
                     fingerprints.sha256_of_array(array.copy()))


if __name__ == '__main__':
  tf.test.main()
