"""What a run remembers besides the model: the best held-out ELBO, its stall count, the run time.

`RunProgress` is a `tf.Module` saved in every checkpoint of the run, so a resumed run keeps the
best-so-far, the number of evaluations since it last improved (early stopping) and the seconds
spent in the training loop over all earlier attempts.
"""

import math

import tensorflow as tf

__all__ = ['RunProgress']


class RunProgress(tf.Module):
  """Best held-out ELBO (higher is better), its step, the stall count and the training seconds.

  Create it outside any strategy scope: only the host reads and writes it.
  """

  def __init__(self, name='progress'):
    super().__init__(name=name)
    self.best_held_out_elbo = tf.Variable(-math.inf, dtype=tf.float64, trainable=False,
                                      name='best_held_out_elbo')
    self.best_step = tf.Variable(-1, dtype=tf.int64, trainable=False, name='best_step')
    self.stalled_evals = tf.Variable(0, dtype=tf.int64, trainable=False, name='stalled_evals')
    self.train_seconds = tf.Variable(0., dtype=tf.float64, trainable=False,
                                     name='train_seconds')

  def record_evaluation(self, step, held_out_elbo):
    """Notes the held-out ELBO of the evaluation at `step`.

    Args:
      step: the step evaluated.
      held_out_elbo: the held-out ELBO (a NaN or None never improves on the best).

    Returns:
      True if it is a new best (strictly higher); then `best_*` hold it and the stall count
      is 0, else the stall count grows by one.
    """
    improved = (held_out_elbo is not None and math.isfinite(held_out_elbo)
                and held_out_elbo > float(self.best_held_out_elbo.numpy()))
    if improved:
      self.best_held_out_elbo.assign(held_out_elbo)
      self.best_step.assign(step)
      self.stalled_evals.assign(0)
    else:
      self.stalled_evals.assign_add(1)
    return improved

  def is_stalled(self, patience):
    """True if `patience` (an int, or None for never) evaluations in a row did not improve."""
    return patience is not None and int(self.stalled_evals.numpy()) >= patience

  def best(self):
    """`(best_held_out_elbo, best_step)` as Python numbers, `(None, None)` before any evaluation."""
    step = int(self.best_step.numpy())
    return (float(self.best_held_out_elbo.numpy()), step) if step >= 0 else (None, None)
