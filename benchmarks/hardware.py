"""The machine's matmul rate, measured in the benchmark's own run as the hardware reference.

A large square `tf.linalg.matmul` on the CPU with TensorFlow's default threads (all cores) is about
the fastest dense arithmetic this process gets, so `achieved FLOP/s / matmul FLOP/s` says how far a
workload is from the machine's limit at that precision.
"""

import time

import tensorflow as tf

__all__ = ['matmul_flops_per_s']


def matmul_flops_per_s(size=4096, dtype=tf.float32, repeats=5):
  """FLOP/s of a `[size, size] @ [size, size]` matmul, the best of `repeats` after a warm-up.

  Args:
    size: matrix side (2 size^3 FLOPs per product).
    dtype: `tf.float32` or `tf.bfloat16`.
    repeats: timed products.

  Returns:
    FLOP/s as a Python float.
  """
  a = tf.cast(tf.random.stateless_normal([size, size], seed=[0, 1]), dtype)
  b = tf.cast(tf.random.stateless_normal([size, size], seed=[0, 2]), dtype)
  product_sum = tf.function(lambda a, b: tf.reduce_sum(tf.cast(tf.linalg.matmul(a, b),
                                                               tf.float32)))
  product_sum(a, b).numpy()
  best = float('inf')
  for _ in range(repeats):
    start = time.perf_counter()
    product_sum(a, b).numpy()
    best = min(best, time.perf_counter() - start)
  return 2. * size**3 / best
