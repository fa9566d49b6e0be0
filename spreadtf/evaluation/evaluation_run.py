"""The evaluation root behind `launch/evaluate.py`: scores one training run, writes `eval.json`.

`evaluate(workdir, ...)` restores the run through training's boundary,
`spreadtf.training.run_restoring.restore_run` (the run's own operative config, so the model, the
spread and the data are the ones it trained with), at the checkpoint it exported by default
('selected': what is scored is what ships), and measures on the test split of its data:

  * `test_elbo`: the spread ELBO at the run's own spread, nats per image and bits per dimension;
  * `iw_log_likelihood`: the importance-weighted log p~(y) with K samples from q(z | y), with its
    standard error over images (a likelihood of data spread with the run's kernel: it compares
    only between runs with the same spread; the VAE baseline's is of the clean data);
  * on request (`likelihood_options`), the IW K sweep, AIS with its BDMC gap and a VAE baseline's
    dequantised bits/dim, all on the same spread draws (`spreadtf.evaluation.likelihood_bounds`);
  * `sharpness` (the variance of the Laplacian, a blur measure in pixel space) of generated
    images, next to `sharpness_real`, the same of the held-out images;
  * with a feature extractor (or several views): `frechet_distance`, `kid` / `kid_std`,
    `precision` / `recall` between generated images x = g(z) (no noise added) and the held-out
    real images, averaged over `num_sample_sets` generated sets, plus the same numbers between
    validation and held-out images (`real_data_reference`: the floor a perfect model would reach
    with this many images).

Everything is seeded (`seed`; each use its named stateless seed, `seeding.stateless_seed`), so a
re-run gives the same numbers. `eval.json` names the checkpoint and `step` evaluated, the run's
`exported_step` and whether they are the same (`evaluated_is_exported`). The result goes to
`<workdir>/eval.json` (written atomically), TensorBoard scalars `eval/*` at the checkpoint's step
(`<workdir>/tensorboard/eval`) and `<workdir>/eval_samples.png` (a grid from fixed latent codes,
the same codes for every run with the same latent size); the paths are
`spreadtf.training.workdir_layout.WorkdirLayout`'s.
"""

import contextlib
import time

from absl import logging
import numpy as np
import tensorflow as tf

from spreadtf import files
from spreadtf import seeding
from spreadtf.evaluation import features
from spreadtf.evaluation import likelihood
from spreadtf.evaluation import likelihood_bounds
from spreadtf.evaluation import per_image
from spreadtf.evaluation import sample_sets
from spreadtf.evaluation import sharpness
from spreadtf.evaluation import yardstick
from spreadtf.training import run_restoring
from spreadtf.training import summaries

__all__ = ['Run', 'find_checkpoint', 'load_run', 'held_out_images', 'generate', 'evaluate',
           'summary']

# The restored run (`Run`, `load_run`, `find_checkpoint`) moved to training's boundary,
# `spreadtf.training.run_restoring`; these names stay for callers of the old API.
Run = run_restoring.RestoredRun


def find_checkpoint(workdir, which='best'):
  """Deprecated: `run_restoring.find_checkpoint(workdir, which)` (the old default, 'best')."""
  return run_restoring.find_checkpoint(workdir, which)


def load_run(workdir, gin_bindings=(), checkpoint='best'):
  """Deprecated: `run_restoring.restore_run(workdir, checkpoint, gin_bindings)` (old default)."""
  return run_restoring.restore_run(workdir, checkpoint, gin_bindings)


def held_out_images(run, split='test', max_images=None, seed=0):
  """The images of `split` (the whole split once, in the pipeline's order) as a NumPy array.

  Args:
    run: a `run_restoring.RestoredRun`.
    split: 'test' (held out), 'validation' or 'train'.
    max_images: None, or stop after this many.
    seed: shuffle seed of the training split.

  Returns:
    float32 `[num, height, width, channels]`; the last partial batch of the split is dropped.
  """
  dataset = run.data_fn(split=split, global_batch_size=run.global_batch_size, seed=seed,
                        repeat=False)
  batches, num = [], 0
  for batch in dataset:
    batch = batch[0] if isinstance(batch, (tuple, list)) else batch
    batches.append(batch.numpy())
    num += len(batches[-1])
    if max_images is not None and num >= max_images:
      break
  if not batches:
    raise ValueError(f'the {split!r} split of {run.workdir!r} has fewer images than one batch '
                     f'({run.global_batch_size}).')
  return np.concatenate(batches)[:max_images]


def generate(model, num, seed, batch_size=500):
  """`num` samples x = g(z), z ~ N(0, I), no noise added; batch b uses `fold_in(seed, b)`."""
  sample = tf.function(model.sample)
  batches = []
  for i, start in enumerate(range(0, num, batch_size)):
    batches.append(sample(tf.constant(min(batch_size, num - start)),
                          tf.random.experimental.stateless_fold_in(seed, i)).numpy())
  return np.concatenate(batches)


def _spread_description(spread):
  description = {'class': type(spread).__name__}
  for name in ('scale', 'rank', 'lipschitz'):
    value = getattr(spread, name, None)
    if value is not None:
      value = np.asarray(value)
      description[name] = value.tolist() if value.size <= 8 else f'array{list(value.shape)}'
  return description


@contextlib.contextmanager
def _timed(seconds, part):
  """Adds the wall seconds of the block to `seconds[part]`."""
  start = time.perf_counter()
  try:
    yield
  finally:
    seconds[part] = seconds.get(part, 0.) + time.perf_counter() - start


def _merge(result, values, seconds, estimates, prefix=''):
  """Adds a `likelihood_bounds.Estimates` to the fields, per-image values and seconds."""
  result.update(estimates.fields)
  values.update(estimates.per_image)
  seconds.update({prefix + part: s for part, s in estimates.seconds.items()})


def _ais_settings(likelihood_options):
  options = dict(likelihood_options or {})
  if not options.get('ais_steps'):
    return None
  return dict(num_steps=options['ais_steps'], num_chains=options.get('ais_chains', 8),
              num_leapfrog_steps=options.get('ais_leapfrog_steps', 5),
              initial=options.get('ais_initial', 'encoder'))


def _likelihoods(model, real, seed, options, result, values, seconds, verbose):
  """The ELBO, IW, the requested bounds and the yardsticks, all on the held-out images `real`.

  `options`: `num_importance_samples`, `max_likelihood_images`, `max_decoder_batch`,
  `likelihood_options`, `yardsticks` (parsed).
  """
  num_dims = int(np.prod(model.image_shape))
  with _timed(seconds, 'elbo'):
    elbo = likelihood.spread_elbo(model, real, seed, verbose=verbose)
  result.update(test_elbo=elbo['mean'], test_elbo_stderr=elbo['stderr'],
                test_elbo_bits_per_dim=likelihood.bits_per_dim(elbo['mean'], num_dims))
  values['test_elbo'] = elbo['per_example']
  num_iw = options['num_importance_samples']
  if num_iw:
    images = real[:options['max_likelihood_images']]
    with _timed(seconds, 'iw'):
      iw = likelihood.importance_weighted_log_likelihood(
          model, images, num_iw, seed, options['max_decoder_batch'], verbose)
    result.update(iw_log_likelihood=iw['mean'], iw_log_likelihood_stderr=iw['stderr'],
                  iw_bits_per_dim=likelihood.bits_per_dim(iw['mean'], num_dims),
                  iw_num_samples=num_iw, iw_num_images=len(images),
                  iw_elbo_same_draws=iw['elbo'])
    values['iw_log_likelihood'] = iw['per_example']
  if options['likelihood_options']:   # the same seed as the ELBO's and IW's: the same y
    _merge(result, values, seconds, likelihood_bounds.estimate_likelihoods(
        model, real, seed, verbose=verbose, **options['likelihood_options']))
  if options['yardsticks']:   # y depends on the seed, the kernel and the images only
    _merge(result, values, seconds, yardstick.score(
        model, real, options['yardsticks'], seed, num_iw,
        _ais_settings(options['likelihood_options']),
        (options['likelihood_options'] or {}).get('max_ais_images'),
        options['max_likelihood_images'], options['max_decoder_batch'],
        own={'iw': values.get('iw_log_likelihood'), 'ais': values.get('ais_log_likelihood')}))


def _write(run, result, values):
  """eval_per_image.npz first, then eval.json (its presence means both are complete)."""
  per_image.write(run.layout.workdir, **values)
  files.write_json(run.layout.eval, files.json_ready(result))
  writer = tf.summary.create_file_writer(run.layout.tensorboard_eval)
  with writer.as_default(step=run.step):
    for name, value in result.items():
      if isinstance(value, float) and np.isfinite(value):
        tf.summary.scalar(f'eval/{name}', value)
  writer.close()


def evaluate(workdir, num_importance_samples=1000, feature_extractor=None, num_samples=None,
             num_sample_sets=5, max_images=None, max_likelihood_images=None, seed=0,
             gin_bindings=(), checkpoint='selected', max_decoder_batch=10000,
             likelihood_options=None, yardsticks=(), verbose=True):
  """Evaluates the run in `workdir` and writes `<workdir>/eval.json` (see the module docstring).

  Args:
    workdir: a `launch/train.py` workdir with a checkpoint.
    num_importance_samples: K of the importance-weighted likelihood (0: skip it), also of the
      yardsticks' IW estimates.
    feature_extractor: None (no sample-quality metrics), a
      `spreadtf.evaluation.features.FeatureExtractor`, or `{view: FeatureExtractor}` (e.g.
      `shipped_features.load_default_extractors()`; keys: `sample_sets.score_sample_sets`).
    num_samples: generated images for the sample-quality metrics (None: as many as held-out
      images).
    num_sample_sets: independent sets of generated images (default 5: the paper averaged FID
      over 5 measurements); the sample-quality metrics are their mean, with
      `<metric>_std_over_sets` (the spread of one set's score) when > 1.
      `kid_std` is KID's own spread over subsets (of at most half of each set).
    max_images: None (the whole held-out split) or at most this many held-out images.
    max_likelihood_images: None (all held-out images) or the first this many for the
      importance-weighted likelihood (it costs K decoder passes per image) and the yardsticks'.
    seed: evaluation seed (spread noise, latent codes, KID subsets).
    gin_bindings: extra bindings applied after the run's operative config.
    checkpoint: 'selected' (default: the checkpoint the run exported), 'best' (the best
      held-out ELBO's, else the latest), 'latest' or a prefix (`run_restoring.restore_run`).
    max_decoder_batch: decoder evaluations per call of the likelihood estimate.
    likelihood_options: None, or keyword arguments of `likelihood_bounds.estimate_likelihoods`
      (`iw_sweep`, `ais_steps`, `bdmc`, ...); its AIS settings and `max_ais_images` also apply
      to the yardsticks.
    yardsticks: `spreadtf.evaluation.yardstick` kernels to score the run under, as
      `family:scale` strings (`'gaussian:0.3,laplace:0.2'`, or a list) or parsed `Yardstick`s.
    verbose: progress bars.

  Returns:
    The dict written to `eval.json`.

  Raises:
    FileNotFoundError: if the run has no config or checkpoint.
    ValueError: if the extractor's input shape does not fit the run's images, or for a bad
      yardstick, or yardsticks without IW or AIS (checked first).
  """
  start = time.perf_counter()
  yardsticks = yardstick.check(yardsticks, num_importance_samples,
                               bool(_ais_settings(likelihood_options)))
  seconds, values = {}, {}
  with _timed(seconds, 'restore'):
    run = run_restoring.restore_run(workdir, checkpoint, gin_bindings)
  model = run.model
  if feature_extractor is not None:
    features.check_fits(feature_extractor, model.image_shape)
  logging.info('evaluating %s at step %d', run.checkpoint, run.step)
  with _timed(seconds, 'test_images'):
    real = held_out_images(run, 'test', max_images)
  seeds = {name: tf.constant(seeding.stateless_seed(seed, name))
           for name in ('elbo', 'iw', 'samples', 'grid')}
  result = {'workdir': workdir, 'checkpoint': run.checkpoint, 'step': run.step,
            'exported_step': run.exported_step, 'evaluated_is_exported': run.is_exported,
            'seed': seed, 'num_test_images': len(real), 'spread': _spread_description(
                model.spread), 'spread_data': model.spread_data,
            'yardsticks': [y.spec for y in yardsticks]}
  _likelihoods(model, real, seeds['elbo'], dict(
      num_importance_samples=num_importance_samples, max_likelihood_images=max_likelihood_images,
      max_decoder_batch=max_decoder_batch, likelihood_options=likelihood_options,
      yardsticks=yardsticks), result, values, seconds, verbose)

  with _timed(seconds, 'sharpness_and_grid'):
    sharpness_samples = generate(model, len(real), seeds['samples'])
    result.update(sharpness=sharpness.laplacian_variance(sharpness_samples),
                  sharpness_real=sharpness.laplacian_variance(real))
    grid = generate(model, 64, seeds['grid'])
    files.write_bytes(run.layout.eval_samples,
                      summaries.to_png(summaries.image_grid(tf.constant(grid))).numpy())
  if feature_extractor is not None:
    with _timed(seconds, 'validation_images'):
      # Validation, not training images: the mnist5k extractors were trained on the latter.
      reference = held_out_images(run, 'validation', len(real))
    scores = sample_sets.score_sample_sets(
        real, lambda i: generate(model, num_samples or len(real),
                                 tf.random.experimental.stateless_fold_in(seeds['samples'], i)),
        feature_extractor, num_sample_sets, seed, reference_images=reference)
    seconds.update({f'sample_quality_{part}': s
                    for part, s in scores.pop('sample_quality_seconds').items()})
    result.update(scores)
  result['eval_seconds'] = seconds['total'] = time.perf_counter() - start
  result['seconds'] = seconds
  _write(run, result, values)
  return result


def summary(result):
  """The headline numbers of an `evaluate` result (what the launcher prints)."""
  keys = ('step', 'exported_step', 'evaluated_is_exported', 'test_elbo',
          'test_elbo_bits_per_dim', 'iw_log_likelihood', 'iw_log_likelihood_stderr',
          'iw_num_samples', 'iw_largest_k', 'iw_largest_k_log_likelihood', 'ais_log_likelihood',
          'ais_log_likelihood_stderr', 'bdmc_gap', 'dequantized_bits_per_dim')
  keys += tuple(k for k in result if k.startswith('yardstick_') and k.endswith(
      ('_iw', '_iw_stderr', '_ais', '_ais_stderr', '_reason')))
  keys += ('frechet_distance', 'kid', 'kid_std', 'precision', 'recall',
           'autoencoder_frechet_distance', 'autoencoder_kid', 'autoencoder_precision',
           'autoencoder_recall', 'sharpness', 'eval_seconds', 'seconds')
  return {k: result[k] for k in keys
          if k in result and not (k.endswith('_reason') and result[k] is None)}
