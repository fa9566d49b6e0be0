"""`make_strategy(kind)`: the tf.distribute strategy a run uses, who is the chief, and how a
global batch is split over the replicas."""

import tensorflow as tf

__all__ = ['STRATEGY_KINDS', 'make_strategy', 'is_chief', 'task_id', 'split_batch']

STRATEGY_KINDS = ('auto', 'one_device', 'mirrored', 'multi_worker', 'tpu')


def make_strategy(kind='auto', tpu=''):
  """Builds a `tf.distribute.Strategy`.

  Args:
    kind: 'auto' (all local GPUs if there are several, else one device: GPU:0 or CPU:0),
      'one_device', 'mirrored' (all local GPUs, or the CPU), 'multi_worker'
      (`MultiWorkerMirroredStrategy`, configured by the `TF_CONFIG` environment variable) or
      'tpu' (`TPUStrategy` through `TPUClusterResolver(tpu)`).
    tpu: for 'tpu': a Cloud TPU's name or `grpc://HOST:8470` address, 'local' on a TPU VM, or ''
      (TensorFlow then reads the `TPU_NAME` environment variable).

  Returns:
    The strategy.

  Raises:
    ValueError: for an unknown kind.
    RuntimeError: for 'tpu' when no TPU is reachable, in one line saying what failed and what to
      pass.
  """
  if kind not in STRATEGY_KINDS:
    raise ValueError(f'strategy kind must be one of {STRATEGY_KINDS}, got {kind!r}.')
  # TPU and multi-worker strategies must be built before anything initialises the TF runtime
  # (even listing devices does), so they come first.
  if kind == 'tpu':
    return tf.distribute.TPUStrategy(_connect_to_tpu(tpu))
  if kind == 'multi_worker':
    return tf.distribute.MultiWorkerMirroredStrategy()
  gpus = tf.config.list_logical_devices('GPU')
  if kind == 'mirrored' or (kind == 'auto' and len(gpus) > 1):
    return tf.distribute.MirroredStrategy()
  return tf.distribute.OneDeviceStrategy('/gpu:0' if gpus else '/cpu:0')


def _connect_to_tpu(tpu):
  """The initialised TPU cluster resolver for `tpu`, or a one-line error saying what to pass."""
  try:
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
  except (ValueError, RuntimeError, ImportError, OSError, tf.errors.OpError) as e:
    # TensorFlow's own messages ('Please provide a TPU Name to connect to.', a URLError from the
    # GCE metadata lookup, a gRPC status) span lines; the first one says what happened.
    happened = (str(e).strip().splitlines() or [''])[0]
    raise RuntimeError(
        f'--strategy=tpu found no TPU for --tpu={tpu!r} ({type(e).__name__}: {happened}); pass '
        "--tpu=NAME (a Cloud TPU's name or its grpc://HOST:8470 address), --tpu=local on a TPU "
        'VM, or set TPU_NAME; without a TPU, use --strategy=auto.') from e
  return resolver


def task_id(strategy):
  """`(task_type, task_id)` of this process in a multi-worker cluster, `(None, 0)` otherwise."""
  resolver = getattr(strategy, 'cluster_resolver', None)
  if resolver is None or not resolver.cluster_spec().as_dict():
    return None, 0
  return resolver.task_type, resolver.task_id or 0


def is_chief(strategy):
  """True if this process writes the run's outputs (always, outside multi-worker training)."""
  resolver = getattr(strategy, 'cluster_resolver', None)
  kind, index = task_id(strategy)
  if kind is None:
    return True
  has_chief = 'chief' in resolver.cluster_spec().as_dict()
  return kind == 'chief' or (kind == 'worker' and index == 0 and not has_chief)


def split_batch(strategy, batch):
  """This process's replicas' rows of a global batch, as `strategy.run` arguments.

  The training loop reads global batches from one (checkpointable) `tf.data` iterator on the
  host instead of a distributed dataset, whose iterator cannot be checkpointed. Replica r of N
  gets rows [r * B / N, (r + 1) * B / N) of the global batch B, the order a distributed dataset
  uses too. Call it inside a `tf.function`.

  Args:
    strategy: the strategy.
    batch: a tensor (or nest of tensors) with the global batch on axis 0, divisible by
      `strategy.num_replicas_in_sync`.

  Returns:
    `batch` itself for one replica, else a per-replica value.
  """
  num_replicas = strategy.num_replicas_in_sync
  if num_replicas == 1:
    return batch

  def rows(context):
    def take(tensor):  # The replica id is a Python int here: static shapes stay static.
      size = tensor.shape[0]
      local = size // num_replicas if size is not None else tf.shape(tensor)[0] // num_replicas
      start = context.replica_id_in_sync_group * local
      return tensor[start:start + local]
    return tf.nest.map_structure(take, batch)

  return strategy.experimental_distribute_values_from_function(rows)
