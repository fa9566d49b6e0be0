"""Guarded optimizer updates: a step whose loss or gradients hold NaN or Inf is not applied.

`NonfiniteGuard.apply_gradients` replaces `optimizer.apply_gradients` inside a `train_step`. It
checks the loss and every gradient with `tf.math.is_finite` inside the compiled step, agrees on
the answer across replicas (an all-reduce of two flags, skipped on one replica), and then either
applies the update or only advances `optimizer.iterations` (the step still counts, as Keras'
own gradient accumulation counts its non-update steps). Skipped steps are counted in variables
the host reads once per loop, so no metric is read per step:

    self.nonfinite_guard.apply_gradients(self.optimizer, loss, gradients, variables)

The counters are `tf.Variable`s owned by the guard (a `tf.Module`): a checkpoint of the model
holds them, so the count survives a resume. Under a strategy with several replicas they are
sync-on-read variables that every replica updates with the same all-reduced values, and reading
them takes the first replica's copy: no collective.
"""

import tensorflow as tf

from spreadtf import _compat

__all__ = ['METRICS', 'NonfiniteGuard']

METRICS = ('loss', 'gradient')  # What `NonfiniteGuard.last_metric` names, in order of checking.


def _replica_variable(value, dtype, name):
  return tf.Variable(value, dtype=dtype, trainable=False, name=name,
                     synchronization=tf.VariableSynchronization.ON_READ,
                     aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)


class NonfiniteGuard(tf.Module):
  """Applies an update only when the loss and all gradients are finite, and counts the others.

  Create it inside the strategy scope that builds the model (e.g. in the model's constructor).

  Attributes:
    count: int64 variable, the number of steps not applied.
    last_step: int64 variable, `optimizer.iterations` of the latest such step (-1: none).
    last_metric: int32 variable, 1 + the index into `METRICS` of what was not finite at that
      step ('loss' if the loss was, else 'gradient'); 0 before any.
  """

  def __init__(self, name='nonfinite_guard'):
    super().__init__(name=name)
    self.count = _replica_variable(0, tf.int64, 'count')
    self.last_step = _replica_variable(-1, tf.int64, 'last_step')
    self.last_metric = _replica_variable(0, tf.int32, 'last_metric')

  def apply_gradients(self, optimizer, loss, gradients, variables):
    """Applies `gradients` with `optimizer` if they and `loss` are finite (replica context).

    Args:
      optimizer: a built Keras optimizer of `variables`.
      loss: this replica's scalar loss (its share of the global mean).
      gradients: list of gradients (tensors, `tf.IndexedSlices` or None), one per variable.
      variables: the variables.

    Returns:
      Scalar bool tensor, the same on every replica: True if the update was applied.
    """
    context = tf.distribute.get_replica_context()
    flags = tf.stack([tf.cast(tf.reduce_any(~tf.math.is_finite(loss)), tf.float32),
                      tf.cast(~_all_finite(gradients), tf.float32)])
    if context.num_replicas_in_sync > 1:
      flags = context.all_reduce(tf.distribute.ReduceOp.SUM, flags)
    bad_loss, bad_gradient = flags[0] > 0., flags[1] > 0.
    finite = ~(bad_loss | bad_gradient)
    step = tf.cast(optimizer.iterations, tf.int64)

    def apply(gradients, variables):
      optimizer.apply_gradients(zip(gradients, variables, strict=True))

    def skip():
      optimizer.iterations.assign_add(1)

    if _compat.strategy_supports_no_merge_call():
      tf.cond(finite, lambda: apply(gradients, variables), skip)
    else:
      # A `tf.cond` whose branch synchronises replicas (apply_gradients' merge_call) must run in
      # the cross-replica context, as in Keras' LossScaleOptimizer; each replica's gradients
      # reach it as merge_call arguments (per-replica values), never through a closure.
      def cross_replica(distribution, finite, gradients, variables):
        agreed = distribution.experimental_local_results(finite)[0]  # All equal: all-reduced.
        tf.cond(agreed, lambda: distribution.extended.call_for_each_replica(
            apply, args=(gradients, variables)), skip)

      context.merge_call(cross_replica, args=(finite, list(gradients), list(variables)))
    self.count.assign_add(tf.cast(~finite, tf.int64))
    self.last_step.assign(tf.where(finite, self.last_step, step))
    self.last_metric.assign(tf.where(finite, self.last_metric,
                                     tf.where(bad_loss, 1, 2)))
    return finite

  def read(self):
    """`(count, last_step, last_metric)` on the host: ints and a `METRICS` name (or None)."""
    metric = int(self.last_metric.numpy())
    return (int(self.count.numpy()), int(self.last_step.numpy()),
            METRICS[metric - 1] if metric else None)


def _all_finite(gradients):
  """Scalar bool: every element of every (non-None) gradient is finite."""
  checks = [tf.reduce_all(tf.math.is_finite(g.values if isinstance(g, tf.IndexedSlices) else g))
            for g in gradients if g is not None]
  return tf.reduce_all(tf.stack(checks)) if checks else tf.constant(True)
