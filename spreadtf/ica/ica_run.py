"""The gin root for ICA runs: data, spread EM, standard EM and FastICA, metrics and outputs.

`run(workdir, seed=...)` writes into `workdir`:
- `operative_config.gin`: the gin parameters actually used (after the first EM step and at
  the end);
- `metrics.json`: `{method: {relative_error, relative_error_rescaled, amari_distance, wall_s,
  iterations, ...}}` for `spread_em`, `standard_em` and `fastica` (those enabled); `wall_s`
  of an EM method includes tracing, XLA compilation and the periodic metric evaluations; strict
  JSON (a non-finite error is null); written last, so its presence means the run finished;
- `tensorboard/<method>/`: scalars `relative_error` and `amari_distance` per evaluated iteration;
- `error_vs_iteration.png`: relative error against EM iteration, FastICA as a horizontal line
  (`plots.error_vs_iteration`).
Every file except the TensorBoard logs is written atomically (`spreadtf.files`).
"""

import os
import time

from absl import logging
import gin
import tensorflow as tf

from spreadtf import files
from spreadtf import seeding
from spreadtf.ica import data
from spreadtf.ica import em
from spreadtf.ica import fastica as fastica_lib
from spreadtf.ica import metrics
from spreadtf.ica import mixing_model
from spreadtf.ica import plots

__all__ = ['run', 'format_table', 'METHODS']

METHODS = ('spread_em', 'standard_em', 'fastica')


def _scores(a_true, a_est):
  return {'relative_error': metrics.relative_error(a_true, a_est),
          'relative_error_rescaled': metrics.relative_error_rescaled(a_true, a_est),
          'amari_distance': metrics.amari_distance(a_true, a_est)}


def format_table(results):
  """Formats a `run` result as a plain-text table (method, errors, Amari, wall s, iterations).

  Args:
    results: the dict returned by `run` (or read from `metrics.json`); None (a non-finite
      error) prints as nan.

  Returns:
    A multi-line string.
  """
  lines = [f'{"method":<12} {"rel. error":>10} {"rescaled":>9} {"Amari":>7} {"wall s":>7} '
           f'{"iterations":>10}']
  for name in METHODS:
    if name in results:
      r = results[name]
      lines.append(f'{name:<12} {_format(r["relative_error"], ">10.4f")} '
                   f'{_format(r["relative_error_rescaled"], ">9.4f")} '
                   f'{_format(r["amari_distance"], ">7.4f")} {r["wall_s"]:>7.1f} '
                   f'{r["iterations"]:>10d}')
  return '\n'.join(lines)


def _write_operative_config(workdir):
  files.write_text(os.path.join(workdir, 'operative_config.gin'), gin.operative_config_str())


def _format(value, spec):
  return format(float('nan') if value is None else value, spec)


def _run_em(name, estimator, problem, a_init, gamma, num_iterations, seed, workdir,
            eval_every, log_every, on_first_step):
  """Runs one EM variant with TensorBoard scalars and progress logs; returns (metrics, curve)."""
  a_true = problem.mixing.numpy()
  writer = tf.summary.create_file_writer(os.path.join(workdir, 'tensorboard', name))
  curve = []
  start = time.perf_counter()

  def record(iteration, mixing):
    scores = _scores(a_true, mixing.numpy())
    curve.append((iteration, scores['relative_error']))
    with writer.as_default(step=iteration):
      tf.summary.scalar('relative_error', scores['relative_error'])
      tf.summary.scalar('amari_distance', scores['amari_distance'])
    return scores

  def callback(iteration, mixing, sigma):
    if iteration == 1:
      on_first_step()
    if iteration % eval_every == 0 or iteration == num_iterations:
      scores = record(iteration, mixing)
      if iteration % log_every == 0 or iteration == num_iterations:
        elapsed = time.perf_counter() - start
        logging.info('%s: iteration %d/%d (%.0f%%), relative error %.4f, Amari %.4f, '
                     'sigma %.3f, %.1f it/s', name, iteration, num_iterations,
                     100. * iteration / num_iterations, scores['relative_error'],
                     scores['amari_distance'], float(sigma), iteration / elapsed)

  record(0, a_init)
  mixing = em.fit(estimator, problem.x, a_init, gamma, num_iterations, seed, callback=callback)
  wall = time.perf_counter() - start
  writer.flush()
  result = dict(_scores(a_true, mixing.numpy()), wall_s=wall, iterations=int(num_iterations),
                iterations_per_s=num_iterations / wall)
  return result, curve


@gin.configurable(module='spreadtf.ica.ica_run', denylist=['workdir'])
def run(workdir, seed=gin.REQUIRED, x_dim=10, z_dim=5, num_points=2000, gamma=0.01,
        num_iterations=300, num_posterior_samples=1000, num_spread_samples=1,
        spread_scale=None, common_random_numbers=True, chunk_size=2000, jit_compile=True,
        dtype='float32', source_fn=mixing_model.laplace_source, spread_em=True, standard_em=True,
        fastica=True, fastica_max_iter=1000, eval_every=10, log_every=50):
  """Generates one deterministic (or noisy) ICA problem and fits it with the enabled methods.

  Args:
    workdir: output directory (created if needed).
    seed: the run seed, a non-negative Python int. Data, initial A, EM noise and FastICA use
      named sub-seeds of it (`spreadtf.seeding.sub_seed`: 'mixing', 'sources', 'noise',
      'initial_mixing', 'em', 'fastica'); both EM variants share the 'em' noise.
    x_dim: observed dimensions X.
    z_dim: sources Z (X >= Z).
    num_points: data points N.
    gamma: observation noise of the data and of both EM models (>= 0).
    num_iterations: EM iterations for each EM method.
    num_posterior_samples: S_z importance samples per spread point.
    num_spread_samples: S_y spread samples per data point (spread EM only).
    spread_scale: fixed spread sigma > 0, or None for the paper's heuristic recomputed from the
      current A every iteration.
    common_random_numbers: share posterior proposal draws across points (see `em`).
    chunk_size: points per E-step chunk (bounds memory).
    jit_compile: XLA-compile the importance log-weights.
    dtype: 'float32' or 'float64'.
    source_fn: `source_fn(dtype)` returns the scalar source prior used for the data and EM.
    spread_em: run spread EM.
    standard_em: run standard EM (same estimator, sigma = 0).
    fastica: run sklearn FastICA on the same data.
    fastica_max_iter: FastICA iteration cap.
    eval_every: record metrics every this many EM iterations.
    log_every: log a progress line every this many EM iterations (a multiple of eval_every).

  Returns:
    The metrics dict written to `metrics.json`.

  Raises:
    ValueError: for invalid problems (see `mixing_model.check_inputs`), before any iteration runs.
  """
  tf.io.gfile.makedirs(workdir)
  dtype = tf.as_dtype(dtype)
  source = source_fn(dtype)
  problem = data.make_problem(x_dim, z_dim, num_points, gamma, seed, source=source, dtype=dtype)
  a_init = data.initial_mixing(x_dim, z_dim, seed, dtype=dtype)
  mixing_model.check_inputs(problem.x, a_init, gamma)
  logging.info('ICA problem: X=%d, Z=%d, N=%d, gamma=%g, seed=%d, initial relative error %.4f',
               x_dim, z_dim, num_points, gamma, seed,
               metrics.relative_error(problem.mixing, a_init))
  results, curves = {}, {}
  config_written = False

  def on_first_step():
    nonlocal config_written
    if not config_written:
      _write_operative_config(workdir)
      config_written = True

  options = dict(num_posterior_samples=num_posterior_samples, chunk_size=chunk_size,
                 common_random_numbers=common_random_numbers, jit_compile=jit_compile)
  estimators = {}
  if spread_em:
    estimators['spread_em'] = em.ExpectationMaximization(
        source, spread=True, spread_scale=spread_scale, num_spread_samples=num_spread_samples,
        **options)
  if standard_em:
    estimators['standard_em'] = em.ExpectationMaximization(source, spread=False, **options)
  for name, estimator in estimators.items():
    results[name], curves[name] = _run_em(
        name, estimator, problem, a_init, gamma, num_iterations, seed, workdir, eval_every,
        log_every, on_first_step)
  fastica_error = None
  if fastica:
    start = time.perf_counter()
    mixing, iterations = fastica_lib.fit_fastica(
        problem.x.numpy(), z_dim, seeding.sub_seed(seed, 'fastica'), max_iter=fastica_max_iter)
    results['fastica'] = dict(_scores(problem.mixing.numpy(), mixing),
                              wall_s=time.perf_counter() - start, iterations=iterations,
                              mixing_shape=list(mixing.shape))
    fastica_error = results['fastica']['relative_error']
    writer = tf.summary.create_file_writer(os.path.join(workdir, 'tensorboard', 'fastica'))
    with writer.as_default():
      for step in (0, num_iterations):
        tf.summary.scalar('relative_error', fastica_error, step=step)
        tf.summary.scalar('amari_distance', results['fastica']['amari_distance'], step=step)
    writer.flush()
  for name, result in results.items():
    logging.info('%-12s relative error %.4f (rescaled %.4f), Amari %.4f, %.1f s, %d iterations',
                 name, result['relative_error'], result['relative_error_rescaled'],
                 result['amari_distance'], result['wall_s'], result['iterations'])
  if curves or fastica_error is not None:
    files.write_bytes(os.path.join(workdir, 'error_vs_iteration.png'), plots.error_vs_iteration(
        curves, fastica_error, f'X={x_dim}, Z={z_dim}, N={num_points}, gamma={gamma:g}'))
  _write_operative_config(workdir)
  results = files.json_ready(results)
  # Last: a sweep takes an existing metrics.json as "this point is done".
  files.write_json(os.path.join(workdir, 'metrics.json'), results)
  return results
