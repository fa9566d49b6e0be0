"""The likelihood fields of `eval.json` beyond the ELBO and IW: IW sweep, AIS, BDMC, dequantised.

`likelihood_fields(model, images, seed, ...)` runs what it is asked for on the held-out images and
returns flat, JSON-ready fields for the evaluation root to add to `eval.json`:

  * `iw_sweep`: the IW estimate at each K on one shared spread draw y per image, with the ELBO on
    the same y, each K's effective sample size, paired rise over the previous K and seconds
    (`likelihood.importance_weighted_sweep`);
  * `ais_log_likelihood` / `_stderr` / `_bits_per_dim` and the AIS settings and diagnostics
    (`ais.ais_log_likelihood`, on the same y as the ELBO and IW with the same seed);
  * `bdmc_gap` / `_stderr`, `bdmc_lower`, `bdmc_upper`: forward and reverse AIS with the same
    settings on as many images simulated from the model (`bdmc.bdmc`);
  * for a VAE baseline (no data spread), `dequantized_bits_per_dim` / `_stderr`: its likelihood
    of the 8-bit held-out pixels (`spread_likelihood.dequantized_log_likelihood`), the clean-data
    number the literature reports, in place of the density of quantised pixels.
"""

import math

import numpy as np

from spreadtf.evaluation import ais
from spreadtf.evaluation import bdmc as bdmc_lib
from spreadtf.evaluation import likelihood
from spreadtf.evaluation import spread_likelihood

__all__ = ['likelihood_fields']


def _ais_fields(model, images, seed, settings, verbose):
  estimate = ais.ais_log_likelihood(model, images, seed, verbose=verbose, **settings)
  num_dims = math.prod(model.image_shape)
  fields = {'ais_log_likelihood': estimate['mean'],
            'ais_log_likelihood_stderr': estimate['stderr'],
            'ais_bits_per_dim': likelihood.bits_per_dim(estimate['mean'], num_dims),
            'ais_num_images': len(images)}
  for key in ('num_steps', 'num_chains', 'num_leapfrog_steps', 'initial', 'acceptance_rate',
              'effective_sample_size', 'step_size_median', 'seconds'):
    fields[f'ais_{key}'] = estimate[key]
  return fields


def _bdmc_fields(model, num_images, seed, settings, verbose):
  result = bdmc_lib.bdmc(model, num_images, seed, verbose=verbose, **settings)
  return {'bdmc_gap': result['gap'], 'bdmc_gap_stderr': result['gap_stderr'],
          'bdmc_lower': result['lower']['mean'], 'bdmc_upper': result['upper']['mean'],
          'bdmc_num_images': num_images, 'bdmc_seconds': result['seconds']}


def likelihood_fields(model, images, seed, iw_sweep=(), ais_steps=0, ais_chains=8,
                      ais_leapfrog_steps=5, ais_initial='encoder', max_ais_images=None,
                      bdmc=False, dequantized_samples=0, verbose=False):
  """Runs the requested likelihood estimates and returns their `eval.json` fields.

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
    A dict of JSON-ready fields (see the module docstring).

  Raises:
    ValueError: if `bdmc` is asked for without AIS.
  """
  if bdmc and not ais_steps:
    raise ValueError('BDMC runs AIS both ways: set ais_steps > 0 (e.g. 300) with bdmc.')
  fields = {}
  if iw_sweep:
    sweep = likelihood.importance_weighted_sweep(model, images, seed, iw_sweep,
                                                 verbose=verbose)
    fields.update(iw_sweep=sweep['iw'], iw_sweep_elbo=sweep['elbo']['mean'],
                  iw_sweep_elbo_stderr=sweep['elbo']['stderr'], iw_sweep_num_images=len(images))
  if ais_steps:
    settings = dict(num_steps=ais_steps, num_chains=ais_chains,
                    num_leapfrog_steps=ais_leapfrog_steps, initial=ais_initial)
    scored = np.asarray(images)[:max_ais_images]
    fields.update(_ais_fields(model, scored, seed, settings, verbose))
    if bdmc:
      fields.update(_bdmc_fields(model, len(scored), seed, settings, verbose))
  if dequantized_samples and not model.spread_data:
    result = spread_likelihood.dequantized_log_likelihood(model, images, seed,
                                                          dequantized_samples)
    fields.update(dequantized_bits_per_dim=result['bits_per_dim'],
                  dequantized_bits_per_dim_stderr=result['bits_per_dim_stderr'],
                  dequantized_log_likelihood=result['log_likelihood'],
                  dequantized_num_samples=result['num_samples'])
  return fields
