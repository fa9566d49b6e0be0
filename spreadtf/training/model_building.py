"""`build_model`: the one way a run's SpreadVAE is built, for training, restoring and benchmarks.

A model is built inside the strategy's scope, called once so that its variables exist (Keras
creates them lazily, and a `tf.train.Checkpoint` can only restore into existing variables), and
then, for training, compiled with its optimizer (built on the trainable variables, so that its
slots exist before a checkpoint is restored) and, for a learned spread, the spread optimizer.

    model = build_model(spread_vae_fn, seed=0, strategy=strategy,
                        optimizer_fn=keras.optimizers.Adam)
"""

import tensorflow as tf

from spreadtf import seeding
from spreadtf.training import spread_learning

__all__ = ['build_model']


def build_model(model_fn, seed, strategy=None, optimizer_fn=None, spread_optimizer_fn=None,
                spread_schedule=None):
  """Builds a run's `SpreadVAE` with its variables and, if asked, its compiled optimizers.

  Args:
    model_fn: `fn(seed=) -> SpreadVAE`, e.g. `spread_vae.make_spread_vae` with its arguments
      bound; it gets the named sub-seed 'model' of `seed` (the model's noise seed).
    seed: the run seed (a non-negative int).
    strategy: a `tf.distribute.Strategy` (None: the current one).
    optimizer_fn: None (an uncompiled model, e.g. to restore and evaluate it) or a
      zero-argument optimizer constructor, e.g. `keras.optimizers.Adam`.
    spread_optimizer_fn: zero-argument constructor of the spread optimizer, or None.
    spread_schedule: a `spread_learning.SpreadSchedule` of spread phases, or None (both or
      neither of the last two).

  Returns:
    The model, its variables created; with `optimizer_fn`, compiled with the optimizer built on
    its trainable variables (and `spread_optimizer` built on the spread's).

  Raises:
    ValueError: for spread learning without a learned spread or with only one of
      `spread_optimizer_fn` and `spread_schedule`.
  """
  strategy = strategy or tf.distribute.get_strategy()
  with strategy.scope():
    model = model_fn(seed=seeding.sub_seed(seed, 'model'))
    model(tf.zeros((1,) + tuple(model.image_shape)), training=False)  # Creates the variables.
    if optimizer_fn is None:
      return model
    optimizer = optimizer_fn()
    spread_optimizer = spread_learning.make_spread_optimizer(model, spread_optimizer_fn,
                                                             spread_schedule)
    model.compile(optimizer=optimizer, spread_optimizer=spread_optimizer)
    optimizer.build(model.trainable_variables)
  return model
