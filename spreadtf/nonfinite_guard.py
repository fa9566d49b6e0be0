"""Guarded optimizer updates: a step with NaN or Inf, or an update that explodes, is not applied.

`NonfiniteGuard.apply_gradients` replaces `optimizer.apply_gradients` inside a `train_step`
(and, with a guard of its own, `SpreadVAE.spread_step`):

    self.nonfinite_guard.apply_gradients(self.optimizer, loss, gradients, variables)

It refuses a step for one of three reasons (`METRICS`), checked inside the compiled step:

  * 'loss': the loss is NaN or Inf;
  * 'gradient': the loss is finite but a gradient holds NaN or Inf;
  * 'update': both are finite, but the update the optimizer made is not, or it is larger than
    `max_update_ratio` times the weights' norm: ||w_new - w_old|| > max_update_ratio *
    max(||w_old||, 1), norms over all the variables updated. The update is undone (the weights
    are put back; the optimizer's own state, e.g. Adam's moments, keeps that step's finite
    gradient). With the default ratio of 100 this catches a single step that blows the weights
    up by orders of magnitude (a learning rate of 1e30, an exploding gradient under SGD), and
    never an ordinary step: Adam at a learning rate of 1e-3 moves the MNIST MLP's 1.1 million
    weights (norm about 35) by about 1 per step, a ratio of 0.03. It does not catch a run that
    diverges slowly, step by step (that shows up as NaN or Inf later), a loss that jumps while
    the update stays moderate (an unusual batch is not an error), or an update that is large for
    one small layer but not for the whole model. `max_update_ratio=None` turns it off (and
    saves a copy of the weights per step).

A refused step only advances `optimizer.iterations` (the step still counts, as Keras' own gradient
accumulation counts its non-update steps). The answer is agreed across replicas (an all-reduce
of two flags before the update, skipped on one replica; the update check needs none, because
every replica holds the same weights after the same update). Refused steps are counted in
variables the host reads once per loop, so no metric is read per step. The counters are
`tf.Variable`s owned by the guard (a `tf.Module`): a checkpoint of the model holds them, so the
count survives a resume. Under a strategy with several replicas they are sync-on-read variables
that every replica updates with the same values, and reading them takes the first replica's
copy: no collective.
"""

import tensorflow as tf

from spreadtf import _compat

__all__ = ['METRICS', 'DEFAULT_MAX_UPDATE_RATIO', 'NonfiniteGuard']

METRICS = ('loss', 'gradient', 'update')  # What `NonfiniteGuard.last_metric` names.
DEFAULT_MAX_UPDATE_RATIO = 100.  # ||update|| / max(||weights||, 1) above which a step explodes.


def _replica_variable(value, dtype, name):
  return tf.Variable(value, dtype=dtype, trainable=False, name=name,
                     synchronization=tf.VariableSynchronization.ON_READ,
                     aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)


class NonfiniteGuard(tf.Module):
  """Applies an update only when the loss, the gradients and the update are sane; counts others.

  Create it inside the strategy scope that builds the model (e.g. in the model's constructor).

  Attributes:
    count: int64 variable, the number of steps not applied.
    last_step: int64 variable, `optimizer.iterations` of the latest such step (-1: none).
    last_metric: int32 variable, 1 + the index into `METRICS` of why that step was refused;
      0 before any.
    max_update_ratio: None, or the bound on ||update|| / max(||weights||, 1) (a Python float,
      read when the step is traced: set it before the first step).
  """

  def __init__(self, max_update_ratio=DEFAULT_MAX_UPDATE_RATIO, name='nonfinite_guard'):
    super().__init__(name=name)
    self.count = _replica_variable(0, tf.int64, 'count')
    self.last_step = _replica_variable(-1, tf.int64, 'last_step')
    self.last_metric = _replica_variable(0, tf.int32, 'last_metric')
    self.max_update_ratio = max_update_ratio

  def apply_gradients(self, optimizer, loss, gradients, variables):
    """Applies `gradients` with `optimizer` if the step is sane (replica context; see above).

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
    ratio = self.max_update_ratio

    def apply(gradients, variables):
      return _apply_bounded(optimizer, gradients, variables, ratio)

    def skip():
      optimizer.iterations.assign_add(1)
      return tf.constant(False)

    if _compat.strategy_supports_no_merge_call():
      applied = tf.cond(finite, lambda: apply(gradients, variables), skip)
    else:
      # A `tf.cond` whose branch synchronises replicas (apply_gradients' merge_call) must run in
      # the cross-replica context, as in Keras' LossScaleOptimizer; each replica's gradients
      # reach it as merge_call arguments (per-replica values), never through a closure.
      def cross_replica(distribution, finite, gradients, variables):
        agreed = distribution.experimental_local_results(finite)[0]  # All equal: all-reduced.
        return tf.cond(agreed, lambda: distribution.experimental_local_results(
            distribution.extended.call_for_each_replica(apply, args=(gradients, variables)))[0],
                       skip)

      applied = context.merge_call(cross_replica,
                                   args=(finite, list(gradients), list(variables)))
    reason = tf.where(bad_loss, 1, tf.where(bad_gradient, 2, 3))
    self.count.assign_add(tf.cast(~applied, tf.int64))
    self.last_step.assign(tf.where(applied, self.last_step, step))
    self.last_metric.assign(tf.where(applied, self.last_metric, reason))
    return applied

  def read(self):
    """`(count, last_step, last_metric)` on the host: ints and a `METRICS` name (or None)."""
    metric = int(self.last_metric.numpy())
    return (int(self.count.numpy()), int(self.last_step.numpy()),
            METRICS[metric - 1] if metric else None)


def _apply_bounded(optimizer, gradients, variables, ratio):
  """Applies the update; undoes it if it is not finite or exceeds `ratio` (None: no bound).

  Returns:
    Scalar bool tensor: True if the update stands.
  """
  if ratio is None:
    optimizer.apply_gradients(zip(gradients, variables, strict=True))
    return tf.constant(True)
  # Reads before the update (tf.function orders them); the update copies on write.
  before = [tf.identity(_value(v)) for v in variables]
  with tf.control_dependencies(before):
    optimizer.apply_gradients(zip(gradients, variables, strict=True))
  change = tf.add_n([tf.reduce_sum(tf.square(tf.cast(_value(v) - b, tf.float32)))
                     for v, b in zip(variables, before, strict=True)])
  size = tf.add_n([tf.reduce_sum(tf.square(tf.cast(b, tf.float32))) for b in before])
  # Squares of finite but huge updates overflow to Inf, which also fails the bound.
  sane = tf.math.is_finite(change) & (change <= ratio ** 2 * tf.maximum(size, 1.))

  def undo():
    for variable, value in zip(variables, before, strict=True):
      variable.assign(value)
    return tf.constant(False)

  return tf.cond(sane, lambda: tf.constant(True), undo)


def _value(variable):
  """The `tf.Variable` inside a Keras variable (or `variable` itself, a `tf.Variable`)."""
  inner = getattr(variable, 'value', None)  # A Keras variable's; a method on a tf.Variable.
  return inner if isinstance(inner, tf.Variable) else variable


def _all_finite(gradients):
  """Scalar bool: every element of every (non-None) gradient is finite."""
  checks = [tf.reduce_all(tf.math.is_finite(g.values if isinstance(g, tf.IndexedSlices) else g))
            for g in gradients if g is not None]
  return tf.reduce_all(tf.stack(checks)) if checks else tf.constant(True)
