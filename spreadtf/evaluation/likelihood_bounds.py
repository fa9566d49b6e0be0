"""The likelihood fields of `eval.json` beyond the ELBO and IW: IW sweep, AIS, BDMC, dequantised.

`estimate_likelihoods(model, images, seed, ...)` runs what it is asked for on the held-out images
and returns an `Estimates`: flat, JSON-ready fields for the evaluation root to add to `eval.json`,
the per-image values behind the means (for `eval_per_image.npz`) and the seconds each part took.
`likelihood_fields(...)` returns the fields alone.

  * `iw_sweep`: the IW estimate at each K on one shared spread draw y per image, with the ELBO on
    the same y, each K's effective sample size, paired rise over the previous K and seconds
    (`likelihood.importance_weighted_sweep`); the largest K's estimate again as
    `iw_largest_k_log_likelihood` / `_stderr` (`iw_largest_k`), a column a report can show
    whatever the sweep's K values;
  * `ais_log_likelihood` / `_stderr` / `_bits_per_dim` and the AIS settings and diagnostics
    (`ais.ais_log_likelihood`, on the same y as the ELBO and IW with the same seed);
  * `bdmc_gap` / `_stderr`, `bdmc_lower`, `bdmc_upper`: forward and reverse AIS with the same
    settings on as many images simulated from the model (`bdmc.bdmc`);
  * for a VAE baseline (no data spread), `dequantized_bits_per_dim` / `_stderr`: its likelihood
    of the 8-bit held-out pixels (`spread_likelihood.dequantized_log_likelihood`), the clean-data
    number the literature reports, in place of the density of quantised pixels.
"""

import dataclasses
import math
import time

import numpy as np

from spreadtf.evaluation import ais
from spreadtf.evaluation import bdmc as bdmc_lib
from spreadtf.evaluation import likelihood
from spreadtf.evaluation import spread_likelihood

__all__ = ['Estimates', 'estimate_likelihoods', 'likelihood_fields']


@dataclasses.dataclass
class Estimates:
  """What a group of likelihood estimates adds to an evaluation.

  Attributes:
    fields: JSON-ready `eval.json` fields.
    per_image: `{eval.json key: float64 [n]}`, the per-image values whose mean is that key's
      value (element i is held-out image i; n may be fewer than the images, e.g. AIS on the
      first `max_ais_images`).
    seconds: `{part: wall seconds}`, parts that do not overlap (e.g. `iw_sweep_k10`, `ais`).
  """
  fields: dict = dataclasses.field(default_factory=dict)
  per_image: dict = dataclasses.field(default_factory=dict)
  seconds: dict = dataclasses.field(default_factory=dict)


def _sweep(model, images, seed, num_samples, verbose, out):
  start = time.perf_counter()
  sweep = likelihood.importance_weighted_sweep(model, images, seed, num_samples, verbose=verbose)
  total = time.perf_counter() - start
  largest = sweep['iw'][-1]
  out.fields.update(iw_sweep=sweep['iw'], iw_sweep_elbo=sweep['elbo']['mean'],
                    iw_sweep_elbo_stderr=sweep['elbo']['stderr'], iw_sweep_num_images=len(images),
                    iw_largest_k=largest['num_samples'],
                    iw_largest_k_log_likelihood=largest['log_likelihood'],
                    iw_largest_k_log_likelihood_stderr=largest['stderr'])
  out.per_image['iw_largest_k_log_likelihood'] = sweep['per_example'][largest['num_samples']]
  # The spread draws and the ELBO on them, then each K.
  out.seconds['iw_sweep_setup'] = total - sum(row['seconds'] for row in sweep['iw'])
  for row in sweep['iw']:
    out.seconds[f"iw_sweep_k{row['num_samples']}"] = row['seconds']


def _ais(model, images, seed, settings, verbose, out):
  estimate = ais.ais_log_likelihood(model, images, seed, verbose=verbose, **settings)
  num_dims = math.prod(model.image_shape)
  out.fields.update(ais_log_likelihood=estimate['mean'],
                    ais_log_likelihood_stderr=estimate['stderr'],
                    ais_bits_per_dim=likelihood.bits_per_dim(estimate['mean'], num_dims),
                    ais_num_images=len(images))
  for key in ('num_steps', 'num_chains', 'num_leapfrog_steps', 'initial', 'acceptance_rate',
              'effective_sample_size', 'step_size_median', 'seconds'):
    out.fields[f'ais_{key}'] = estimate[key]
  out.per_image['ais_log_likelihood'] = estimate['per_example']
  out.seconds['ais'] = estimate['seconds']


def _bdmc(model, num_images, seed, settings, verbose, out):
  result = bdmc_lib.bdmc(model, num_images, seed, verbose=verbose, **settings)
  out.fields.update(bdmc_gap=result['gap'], bdmc_gap_stderr=result['gap_stderr'],
                    bdmc_lower=result['lower']['mean'], bdmc_upper=result['upper']['mean'],
                    bdmc_num_images=num_images, bdmc_seconds=result['seconds'])
  out.seconds['bdmc'] = result['seconds']


def _dequantized(model, images, seed, num_samples, out):
  start = time.perf_counter()
  result = spread_likelihood.dequantized_log_likelihood(model, images, seed, num_samples)
  out.fields.update(dequantized_bits_per_dim=result['bits_per_dim'],
                    dequantized_bits_per_dim_stderr=result['bits_per_dim_stderr'],
                    dequantized_log_likelihood=result['log_likelihood'],
                    dequantized_num_samples=result['num_samples'])
  num_dims = math.prod(model.image_shape)
  out.per_image['dequantized_bits_per_dim'] = likelihood.bits_per_dim(result['per_example'],
                                                                      num_dims)
  out.seconds['dequantized'] = time.perf_counter() - start


def estimate_likelihoods(model, images, seed, iw_sweep=(), ais_steps=0, ais_chains=8,
                         ais_leapfrog_steps=5, ais_initial='encoder', max_ais_images=None,
                         bdmc=False, dequantized_samples=0, verbose=False):
  """Runs the requested likelihood estimates: their fields, per-image values and seconds.

  Args:
    model: a built `SpreadVAE`.
    images: float32 `[num, height, width, channels]`, the held-out images.
    seed: stateless seed, int32 `[2]`; the same as the ELBO's and IW's for paired numbers.
    iw_sweep: K values of the IW sweep (empty: no sweep).
    ais_steps: AIS intermediate distributions T (0: no AIS and no BDMC).
    ais_chains: AIS chains per image.
    ais_leapfrog_steps: leapfrog steps per HMC transition.
    ais_initial: 'encoder' or 'prior'.
    max_ais_images: None (all) or the first this many images for AIS (and the number of
      simulated images for BDMC; None: as many as AIS scores).
    bdmc: also run BDMC with the AIS settings (needs `ais_steps` > 0).
    dequantized_samples: K of the dequantised clean-data likelihood of a VAE baseline (0: none;
      ignored for a delta-VAE, which has no density on clean data).
    verbose: progress bars.

  Returns:
    An `Estimates` (see the module docstring for the fields).

  Raises:
    ValueError: if `bdmc` is asked for without AIS.
  """
  if bdmc and not ais_steps:
    raise ValueError('BDMC runs AIS both ways: set ais_steps > 0 (e.g. 300) with bdmc.')
  out = Estimates()
  if iw_sweep:
    _sweep(model, images, seed, iw_sweep, verbose, out)
  if ais_steps:
    settings = dict(num_steps=ais_steps, num_chains=ais_chains,
                    num_leapfrog_steps=ais_leapfrog_steps, initial=ais_initial)
    scored = np.asarray(images)[:max_ais_images]
    _ais(model, scored, seed, settings, verbose, out)
    if bdmc:
      _bdmc(model, len(scored), seed, settings, verbose, out)
  if dequantized_samples and not model.spread_data:
    _dequantized(model, images, seed, dequantized_samples, out)
  return out


def likelihood_fields(model, images, seed, **options):
  """The `eval.json` fields of `estimate_likelihoods(model, images, seed, **options)` alone.

  Raises:
    ValueError: as `estimate_likelihoods`.
  """
  return estimate_likelihoods(model, images, seed, **options).fields
