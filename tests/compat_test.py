"""Each private TensorFlow / gin API behind `spreadtf._compat` still does what spreadtf needs.

A failure here after a version bump names the API (`PrivateApiChanged`); fix the wrapper in
spreadtf/_compat.py, nowhere else.
"""

import os

import tensorflow as tf

from spreadtf import _compat


class CompatTest(tf.test.TestCase):

  def test_fused_batch_norm_normalises_with_batch_moments_in_training(self):
    x = tf.random.stateless_normal([4, 3, 3, 2], seed=[0, 1]) * 3. + 1.
    out, mean, variance = _compat.fused_batch_norm(x, tf.ones([2]), tf.zeros([2]),
                                                   epsilon=0., is_training=True)
    self.assertAllClose(mean, tf.reduce_mean(x, [0, 1, 2]), atol=1e-5)
    n = 4 * 3 * 3  # TensorFlow's fused kernel returns the unbiased variance.
    self.assertAllClose(variance, tf.math.reduce_variance(x, [0, 1, 2]) * n / (n - 1), rtol=1e-4)
    self.assertAllClose(tf.reduce_mean(out, [0, 1, 2]), [0., 0.], atol=1e-5)

  def test_fused_batch_norm_uses_the_given_moments_in_inference(self):
    x = tf.ones([1, 2, 2, 1]) * 5.
    out, _, _ = _compat.fused_batch_norm(x, tf.ones([1]) * 2., tf.ones([1]), mean=tf.ones([1]),
                                         variance=tf.ones([1]) * 4., epsilon=0.,
                                         is_training=False)
    self.assertAllClose(out, tf.ones([1, 2, 2, 1]) * 5.)  # 2 * (5 - 1) / 2 + 1

  def test_strategy_supports_no_merge_call_answers_for_the_default_strategy(self):
    self.assertIsInstance(_compat.strategy_supports_no_merge_call(), bool)

  def test_dataset_inputs_lead_back_to_the_source(self):
    source = tf.data.Dataset.range(4)
    built = source.shuffle(4, seed=0).batch(2).prefetch(1)
    chain = [built]
    while _compat.dataset_inputs(chain[-1]):
      (parent,) = _compat.dataset_inputs(chain[-1])
      chain.append(parent)
    self.assertIs(chain[-1], source)
    self.assertLen(chain, 4)
    self.assertLen(_compat.dataset_inputs(tf.data.Dataset.zip((source, source))), 2)

  def test_write_checkpoint_state_names_relative_paths_a_manager_rotates(self):
    directory = self.create_tempdir().full_path
    checkpoint = tf.train.Checkpoint(v=tf.Variable(1.))
    prefixes = [checkpoint.write(os.path.join(directory, f'ckpt-{i}')) for i in (1, 2)]
    _compat.write_checkpoint_state(directory, prefixes[1], prefixes)
    with open(os.path.join(directory, 'checkpoint')) as f:
      self.assertIn('model_checkpoint_path: "ckpt-2"', f.read())
    manager = tf.train.CheckpointManager(checkpoint, directory, max_to_keep=2)
    self.assertEqual(manager.latest_checkpoint, prefixes[1])
    manager.save(checkpoint_number=3)
    self.assertEqual([os.path.basename(p) for p in manager.checkpoints], ['ckpt-2', 'ckpt-3'])
    self.assertFalse(tf.io.gfile.exists(prefixes[0] + '.index'))  # Rotated out.

  def test_checkpoint_saving_modules_have_what_fault_injection_patches(self):
    checkpoint_management, functional_saver = _compat.checkpoint_saving_modules()
    # The two attributes tests/end_to_end/fault_injection.py patches.
    self.assertTrue(callable(functional_saver.gen_io_ops.merge_v2_checkpoints))
    self.assertTrue(callable(checkpoint_management.file_io.atomic_write_string_to_file))

  def test_iterator_save_problem_tells_stateful_pipelines_apart(self):
    self.assertIsNone(_compat.iterator_save_problem(tf.data.Dataset.range(3).shuffle(3, seed=0)))
    stateful = tf.data.Dataset.range(3).map(
        lambda i: tf.py_function(lambda v: v, [i], tf.int64))
    self.assertIn('PyFunc', _compat.iterator_save_problem(stateful))

  def test_platform_has_preemption_notices_off_google_cloud(self):
    self.assertTrue(_compat.platform_has_preemption_notices())

  def test_gin_binding_statements_parse_without_evaluating(self):
    text = "import os\nSCALE = 0.5\nscope/fn.a = @other.f()\nfn.b = %SCALE\nfn.c = [1, 'x']\n"
    statements = _compat.gin_binding_statements(
        text, lambda name, evaluate: ('ref', name, evaluate), lambda name: ('macro', name))
    self.assertEqual(statements, [('', 'SCALE', '', 0.5),
                                  ('scope', 'fn', 'a', ('ref', 'other.f', True)),
                                  ('', 'fn', 'b', ('macro', 'SCALE')),
                                  ('', 'fn', 'c', [1, 'x'])])

  def test_summary_events_reads_scalars_written_by_tf_summary(self):
    directory = self.create_tempdir().full_path
    with tf.summary.create_file_writer(directory).as_default():
      tf.summary.scalar('loss', 1.5, step=3)
    path, = [os.path.join(directory, f) for f in os.listdir(directory)]
    values = [(e.step, v.tag, float(tf.make_ndarray(v.tensor)))
              for e in _compat.summary_events(path) for v in e.summary.value]
    self.assertEqual(values, [(3, 'loss', 1.5)])

  def test_a_missing_api_is_named_with_the_installed_version(self):
    expected = rf'tf\.nothing_here .*TensorFlow {tf.__version__}.*_compat\.py'
    with (self.assertRaisesRegex(_compat.PrivateApiChanged, expected),
          _compat._private('tf.nothing_here', 'a test')):  # pylint: disable=protected-access
      _ = tf.nothing_here


if __name__ == '__main__':
  tf.test.main()
