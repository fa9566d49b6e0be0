"""spreadtf.sharding: round-robin shards, the reuse check, the last-shard merge, failures."""

import os

from absl import flags
from absl.testing import parameterized
import tensorflow as tf

from spreadtf import sharding


class _FakeJob:
  """A job whose points write `done` files; records what ran and what was merged."""

  def __init__(self, fail=()):
    self.ran, self.merges, self.fail = [], [], set(fail)

  def run_point(self, point):
    self.ran.append(point.name)
    if point.name in self.fail:
      return f'{point.name} broke'
    with open(os.path.join(point.directory, 'metrics.json'), 'w') as f:
      f.write(point.name)
    return None

  def job(self):
    return sharding.Job(
        run_point=self.run_point,
        is_done=lambda p: os.path.exists(os.path.join(p.directory, 'metrics.json')),
        merge=lambda points: self.merges.append([p.name for p in points]),
        record='config.gin', results_file='metrics.json', point_title='Test point',
        what='test point', unit='points', output='merged.txt', merge_flag='--merge')


def _points(workdir, num, config='config'):
  return [sharding.Point(f'p{i}', os.path.join(workdir, f'p{i}'), config, key=(i,))
          for i in range(num)]


class ShardingTest(tf.test.TestCase, parameterized.TestCase):

  def test_shards_take_every_nth_point_and_cover_all_once(self):
    points = list(range(7))
    shards = [sharding.shard_points(points, 3, i) for i in range(3)]
    self.assertEqual(shards, [[0, 3, 6], [1, 4], [2, 5]])
    self.assertCountEqual([p for shard in shards for p in shard], points)

  @parameterized.parameters((2, 2), (2, 5), (1, -1), (0, 0))
  def test_invalid_shard_names_the_flags(self, num_shards, shard_index):
    with self.assertRaisesRegex(ValueError, '--(shard_index|num_shards)='):
      sharding.check_shard(num_shards, shard_index)
    self.assertIsNotNone(sharding.shard_error(num_shards, shard_index))

  def test_flag_validator_refuses_a_shard_index_not_below_num_shards(self):
    values = flags.FlagValues()
    sharding.define_flags(unit='runs', job='study', flag_values=values)
    values(['prog', '--num_shards=3', '--shard_index=2'])
    self.assertEqual((values.num_shards, values.shard_index), (3, 2))
    values = flags.FlagValues()
    sharding.define_flags(flag_values=values)
    with self.assertRaisesRegex(flags.IllegalFlagValueError,
                                r'--shard_index=2 must be below --num_shards=2 \(shards count'):
      values(['prog', '--num_shards=2', '--shard_index=2'])

  def test_one_shard_runs_every_point_then_merges_once(self):
    workdir = self.create_tempdir().full_path
    fake = _FakeJob()
    result = sharding.run_shard(_points(workdir, 3), fake.job())
    self.assertEqual(fake.ran, ['p0', 'p1', 'p2'])
    self.assertEqual(fake.merges, [['p0', 'p1', 'p2']])
    self.assertTrue(result.merged)
    for i in range(3):   # the record is written before the point runs
      with open(os.path.join(workdir, f'p{i}', 'config.gin')) as f:
        self.assertEqual(f.read(), 'config')

  def test_the_last_shard_merges_and_the_first_says_what_is_missing(self):
    workdir = self.create_tempdir().full_path
    points = _points(workdir, 3)
    first, second = _FakeJob(), _FakeJob()
    result = sharding.run_shard(points, first.job(), num_shards=2, shard_index=0)
    self.assertEqual(first.ran, ['p0', 'p2'])
    self.assertFalse(result.merged)
    self.assertEqual([(i, p.name) for i, p in result.missing], [(1, 'p1')])
    self.assertEmpty(first.merges)
    result = sharding.run_shard(points, second.job(), num_shards=2, shard_index=1)
    self.assertEqual(second.ran, ['p1'])
    self.assertEqual(second.merges, [['p0', 'p1', 'p2']])

  def test_done_points_are_not_run_again(self):
    workdir = self.create_tempdir().full_path
    points = _points(workdir, 2)
    sharding.run_shard(points, _FakeJob().job())
    again = _FakeJob()
    result = sharding.run_shard(points, again.job())
    self.assertEmpty(again.ran)
    self.assertEqual(again.merges, [['p0', 'p1']])   # merging again is the caller's idempotent job
    self.assertEmpty(result.ran)

  def test_merge_only_runs_nothing_and_names_missing_points_and_their_shards(self):
    workdir = self.create_tempdir().full_path
    points = _points(workdir, 3)
    sharding.run_shard(points, _FakeJob().job(), num_shards=3, shard_index=0)
    fake = _FakeJob()
    with self.assertRaisesRegex(RuntimeError, r'2 of 3 points are not done yet') as caught:
      sharding.run_shard(points, fake.job(), num_shards=3, merge_only=True)
    message = str(caught.exception)
    self.assertIn(os.path.join(workdir, 'p1') + ' (shard 1)', message)
    self.assertIn(os.path.join(workdir, 'p2') + ' (shard 2)', message)
    self.assertIn('then --merge again', message)
    self.assertEmpty(fake.ran)
    self.assertEmpty(fake.merges)

  def test_a_point_of_another_config_stops_the_shard_before_anything_runs(self):
    workdir = self.create_tempdir().full_path
    sharding.run_shard(_points(workdir, 2, config='a = 1\n'), _FakeJob().job())
    fake = _FakeJob()
    points = _points(workdir, 2, config='a = 2\n') + [
        sharding.Point('new', os.path.join(workdir, 'new'), 'a = 2\n')]
    with self.assertRaisesRegex(ValueError, 'test point .*p0 holds results of another '
                                'configuration') as caught:
      sharding.run_shard(points, fake.job(), num_shards=2, shard_index=1)
    self.assertIn('+a = 2', str(caught.exception))
    self.assertIn('Use a new --workdir (or delete that point directory)', str(caught.exception))
    self.assertEmpty(fake.ran)
    self.assertFalse(os.path.exists(os.path.join(workdir, 'new')))

  def test_results_without_a_record_are_refused(self):
    workdir = self.create_tempdir().full_path
    os.makedirs(os.path.join(workdir, 'p0'))
    with open(os.path.join(workdir, 'p0', 'metrics.json'), 'w') as f:
      f.write('{}')
    with self.assertRaisesRegex(ValueError, 'it has metrics.json but no config.gin'):
      sharding.run_shard(_points(workdir, 1), _FakeJob().job())

  def test_a_failed_point_is_named_after_the_others_ran_and_nothing_merges(self):
    workdir = self.create_tempdir().full_path
    fake = _FakeJob(fail=['p1'])
    with self.assertRaisesRegex(RuntimeError, r'1 of the 3 points this shard ran failed:\n'
                                r'  p1: p1 broke'):
      sharding.run_shard(_points(workdir, 3), fake.job())
    self.assertEqual(fake.ran, ['p0', 'p1', 'p2'])
    self.assertEmpty(fake.merges)
    retry = _FakeJob()   # the cause fixed: only the failed point runs, then the merge
    sharding.run_shard(_points(workdir, 3), retry.job())
    self.assertEqual(retry.ran, ['p1'])
    self.assertLen(retry.merges, 1)


if __name__ == '__main__':
  tf.test.main()
