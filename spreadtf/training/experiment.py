"""The gin root of delta-VAE runs: `train(workdir, strategy, seed=...)`.

It builds data (global batches), the model and the optimizer inside `strategy.scope()`, resumes
from the latest checkpoint in `<workdir>/checkpoints`, runs `loop.train_loop`, and writes
`operative_config.gin`, TensorBoard summaries (`<workdir>/tensorboard`), `metrics.json` and the
generator SavedModel (`<workdir>/export`). Under multi-worker training every worker saves (the
collectives need it), but only the chief writes into the workdir proper. Checkpoint I/O lives
in `checkpoints`, named sub-seeds in `seeding`.

Learned spreads: with `spread_schedule` and `spread_optimizer_fn` the root alternates model steps
with spread-ascent phases (`spread_learning.SpreadPhaseHook`), checkpoints both optimizers, logs
each phase's objective before and after to TensorBoard (`spread/*`) and, for a low-rank spread,
writes the leading eigenvectors of the learned covariance as `<workdir>/spread_eigenvectors.png`
(the paper's Fig. 2d). `init_checkpoint` starts the encoder and decoder from another run (the
paper's learned injective spread starts from a fixed-spread model).
"""

import json
import os

from absl import logging
import gin
import keras
import numpy as np
import tensorflow as tf

from spreadtf.export import generator
from spreadtf.training import checkpoints
from spreadtf.training import configurables  # pylint: disable=unused-import  (gin registration)
from spreadtf.training import loop
from spreadtf.training import seeding
from spreadtf.training import spread_learning
from spreadtf.training import strategy as strategy_lib
from spreadtf.training import summaries

__all__ = ['train']


def _finite_or_none(metrics):
  """`metrics` with NaN/inf floats as None: metrics.json stays strict JSON (null, not NaN)."""
  return {k: (None if isinstance(v, float) and not np.isfinite(v) else v)
          for k, v in metrics.items()}


def _write_text(path, text):
  with tf.io.gfile.GFile(path, 'w') as f:
    f.write(text)


@gin.configurable(module='spreadtf.training.experiment', denylist=['workdir', 'strategy'])
def train(workdir, strategy=None, seed=gin.REQUIRED, data_fn=gin.REQUIRED,
          model_fn=gin.REQUIRED, optimizer_fn=gin.REQUIRED, global_batch_size=100,
          num_steps=1000, steps_per_epoch=100, eval_steps=10, checkpoints_to_keep=3,
          num_samples=64, export=True, spread_schedule=None, spread_optimizer_fn=None,
          init_checkpoint=None, num_eigenvectors=20, verbose=True):
  """Trains a SpreadVAE (or the VAE baseline), resuming from `workdir` if it holds checkpoints.

  Args:
    workdir: output directory (created).
    strategy: a `tf.distribute.Strategy` (None: the default strategy).
    seed: the run's single integer seed; data, model noise and sample seeds derive from it.
    data_fn: `fn(split, global_batch_size, seed) -> tf.data.Dataset` of image batches.
    model_fn: `fn(seed=) -> SpreadVAE`, e.g. `spread_vae.make_spread_vae`.
    optimizer_fn: zero-argument optimizer constructor, e.g. `keras.optimizers.Adam`.
    global_batch_size: batch over all replicas.
    num_steps: total optimizer steps.
    steps_per_epoch: steps between evaluations, summaries, sample grids and checkpoints.
    eval_steps: held-out batches per evaluation (0: none).
    checkpoints_to_keep: `tf.train.CheckpointManager` max_to_keep.
    num_samples: images in the sample grid (from fixed latent codes).
    export: export the generator to `<workdir>/export` at the end.
    spread_schedule: None, or a `spread_learning.SpreadSchedule` of spread-ascent phases
      (needs a learned spread and `spread_optimizer_fn`).
    spread_optimizer_fn: zero-argument constructor of the spread optimizer (the paper: Adam at
      1e-5), or None.
    init_checkpoint: None, or a checkpoint (prefix, directory or workdir) whose encoder and
      decoder start a fresh run (ignored when resuming from `workdir`).
    num_eigenvectors: leading eigenvectors in the low-rank spread diagnostic (at most the rank).
    verbose: show a progress bar.

  Returns:
    The metrics dict also written to `<workdir>/metrics.json`.
  """
  keras.utils.set_random_seed(seed)
  strategy = strategy or tf.distribute.get_strategy()
  chief = strategy_lib.is_chief(strategy)
  outdir = workdir if chief else os.path.join(
      workdir, '.worker_{}'.format(strategy_lib.task_id(strategy)[1]))
  tf.io.gfile.makedirs(outdir)
  logging.info('Run seed %d, %d replicas. Gin config:\n%s', seed,
               strategy.num_replicas_in_sync, gin.config_str())

  with strategy.scope():
    model = model_fn(seed=seeding.sub_seed(seed, 'model'))
    model(tf.zeros((1,) + model.image_shape), training=False)  # Creates the variables.
    optimizer = optimizer_fn()
    spread_optimizer = spread_learning.make_spread_optimizer(model, spread_optimizer_fn,
                                                             spread_schedule)
    model.compile(optimizer=optimizer, spread_optimizer=spread_optimizer)
    optimizer.build(model.trainable_variables)
  checkpoint = checkpoints.make_checkpoint(model, optimizer)
  manager = tf.train.CheckpointManager(checkpoint, os.path.join(outdir, 'checkpoints'),
                                       max_to_keep=checkpoints_to_keep)
  resumed = checkpoints.restore_latest(checkpoint, manager)
  start_step = int(optimizer.iterations.numpy())
  if resumed:
    logging.info('resumed from step %d (%s)', start_step, resumed)
  elif init_checkpoint:
    logging.info('initialised the encoder and decoder from %s',
                 checkpoints.restore_networks(model, init_checkpoint))

  # A resumed run reshuffles from a seed folded with its start step instead of replaying the
  # first batches again (the input position itself is not checkpointed).
  data_seed = seeding.sub_seed(seed, f'data/{start_step}')
  train_data = data_fn(split='train', global_batch_size=global_batch_size, seed=data_seed)
  test_data = (data_fn(split='test', global_batch_size=global_batch_size, seed=data_seed)
               if eval_steps else None)
  if chief:
    _write_text(os.path.join(workdir, 'operative_config.gin'), gin.operative_config_str())
  writer = (tf.summary.create_file_writer(os.path.join(workdir, 'tensorboard')) if chief
            else tf.summary.create_noop_writer())
  sample_seed = tf.constant([seeding.sub_seed(seed, 'samples'), 0], tf.int32)

  def on_epoch_end(step, train_logs, test_logs):
    summaries.write_epoch_summaries(writer, step, train_logs, test_logs,
                                    model.sample(num_samples, sample_seed))
    manager.save(checkpoint_number=step)
    logging.info('step %d: train %s test %s', step, train_logs, test_logs)

  before_step = None
  if spread_schedule is not None:
    before_step = spread_learning.SpreadPhaseHook(
        model, strategy, spread_schedule, test_data if test_data is not None else train_data,
        writer, os.path.join(workdir, 'spread_eigenvectors.png') if chief else None,
        num_eigenvectors)

  result = loop.train_loop(model, strategy, train_data, test_data, num_steps=num_steps,
                           steps_per_epoch=steps_per_epoch, eval_steps=eval_steps,
                           on_epoch_end=on_epoch_end, before_step=before_step,
                           verbose=verbose and chief)
  metrics = {
      'train_elbo': result['train'].get('elbo'), 'test_elbo': result['test'].get('elbo'),
      'train_loss': result['train'].get('loss'), 'steps': result['steps'],
      'start_step': start_step, 'examples_per_second': result['examples_per_second'],
      'global_batch_size': global_batch_size,
      'num_replicas': strategy.num_replicas_in_sync}
  if spread_schedule is not None:
    phases = before_step.phases
    metrics.update(spread_phases=len(phases),
                   spread_steps=int(model.spread_optimizer.iterations.numpy()),
                   spread_objective_before=phases[-1]['objective_before'] if phases else None,
                   spread_objective_after=phases[-1]['objective_after'] if phases else None)
  metrics = _finite_or_none(metrics)
  if export:
    generator.export_generator(model.decoder, os.path.join(outdir, 'export'))
  metrics_path = os.path.join(workdir, 'metrics.json')
  if start_step >= num_steps and tf.io.gfile.exists(metrics_path):
    logging.info('already at step %d >= num_steps; keeping %s', start_step, metrics_path)
  elif chief:
    _write_text(metrics_path, json.dumps(metrics, indent=2, allow_nan=False))
  if chief:
    _write_text(os.path.join(workdir, 'operative_config.gin'), gin.operative_config_str())
  else:
    tf.io.gfile.rmtree(outdir)
  return metrics
