"""One yardstick across model families: every run scored by log q~(y) under a named kernel.

A run's own likelihood columns (`test_elbo`, `iw_log_likelihood`, `ais_log_likelihood`) are of
data spread with the run's own kernel, and a VAE baseline's are of the clean data: they compare
only between runs of the same family and spread. A yardstick fixes the kernel instead: under
`gaussian:0.3` every run, delta-VAE or VAE baseline, is scored by log q~(y) on the same spread
data y = x + eps, eps ~ N(0, 0.3^2 I), drawn once per held-out image
(`spread_likelihood.spread_log_likelihood_of`, which says how a VAE's observation noise is
convolved with the kernel, and when there is no closed form).

    yardsticks = yardstick.parse(['gaussian:0.3,laplace:0.2'])
    out = yardstick.score(model, images, yardsticks, seed, num_samples=1000, ais_settings=...)
    out.fields['yardstick_gaussian_0.3_iw'], out.fields['yardstick_laplace_0.2_reason']

**The draw.** y_i is drawn with the kernel from held-out image i with a seed folded from the
evaluation's seed and i (`likelihood.draw_spread`): it depends on the seed, the kernel and the
image, never on the model or the run's own kernel, so runs evaluated with the same seed are
scored on identical y. The evaluation root passes the seed of its ELBO and IW, so a delta-VAE
scored under its own fixed kernel gets exactly its `iw_log_likelihood` and `ais_log_likelihood`
(tested), and the root passes those in (`own`) rather than computing them twice
(`<key>_is_own_kernel`). `<key>_draws_sha256` (the SHA-256 of y, float32 bytes, over all held-out
images) lets anyone check, after the fact, that two runs saw the same y.

**Fields** (per yardstick, `<key>` = `yardstick_<family>_<scale>`, e.g. `yardstick_gaussian_0.3`;
scales written as Python's `%g`):

  * `<key>_iw`, `<key>_iw_stderr`, `<key>_iw_num_images`: IW with K = `num_samples` (0: none);
  * `<key>_ais`, `<key>_ais_stderr`, `<key>_ais_num_images`: AIS on the first `max_ais_images`
    (with `ais_settings`);
  * `<key>_reason`: None, or why there is no value (then `_iw` and `_ais` are None and nothing
    ran): no closed form for the model's observation noise under this kernel;
  * `<key>_decoder` (the decoder likelihood under the kernel, e.g. 'GaussianSpread 0.4243'),
    `<key>_draws_sha256`, `<key>_is_own_kernel`.

`<key>_iw` and `<key>_ais` are metric keys of the report (`METRIC_KEY`) and of declared
comparisons.
"""

import dataclasses
import hashlib
import math
import re
import time

import numpy as np

from spreadtf.evaluation import likelihood
from spreadtf.evaluation import likelihood_bounds
from spreadtf.evaluation import spread_likelihood
from spreadtf.spreads import kernels

__all__ = ['FAMILIES', 'METHODS', 'METRIC_KEY', 'Yardstick', 'parse', 'check', 'metric_keys',
           'draws', 'is_own_kernel', 'score']

FAMILIES = {'gaussian': kernels.GaussianSpread, 'laplace': kernels.LaplaceSpread}
METHODS = ('iw', 'ais')
# A yardstick's metric key in eval.json, e.g. yardstick_gaussian_0.3_iw: (family, scale, method).
METRIC_KEY = re.compile(r'^yardstick_(gaussian|laplace)_([0-9][0-9.e+-]*)_(iw|ais)$')


@dataclasses.dataclass(frozen=True)
class Yardstick:
  """A fixed scoring kernel: `family` ('gaussian' or 'laplace') and its `scale` (> 0)."""
  family: str
  scale: float

  @property
  def spec(self):
    """E.g. 'gaussian:0.3' (what `parse` reads)."""
    return f'{self.family}:{self.scale:g}'

  @property
  def key(self):
    """E.g. 'yardstick_gaussian_0.3', the prefix of its eval.json fields."""
    return f'yardstick_{self.family}_{self.scale:g}'

  @property
  def title(self):
    """E.g. 'Gaussian 0.3'."""
    return f'{self.family.capitalize()} {self.scale:g}'

  def kernel(self):
    """The kernel, e.g. `spreadtf.GaussianSpread(0.3)`."""
    return FAMILIES[self.family](self.scale)


def _one(text):
  family, sep, scale = text.strip().partition(':')
  family = family.strip().lower()
  try:
    value = float(scale) if sep else float('nan')
  except ValueError:
    value = float('nan')
  if family not in FAMILIES or not math.isfinite(value) or value <= 0.:
    raise ValueError(f'cannot read yardstick {text.strip()!r}: write family:scale with family '
                     f'one of {sorted(FAMILIES)} and a positive scale, e.g. gaussian:0.3 '
                     '(several: gaussian:0.3,laplace:0.2).')
  return Yardstick(family, float(f'{value:g}'))


def parse(specs):
  """Yardsticks from `family:scale` strings, each one or several separated by commas.

  Args:
    specs: a string ('gaussian:0.3,laplace:0.2') or a sequence of such strings (a repeated
      flag); empty entries are ignored.

  Returns:
    A tuple of `Yardstick`, in order.

  Raises:
    ValueError: naming an entry that is not `family:scale` with a known family and a positive
      scale, or two entries that name the same kernel.
  """
  if isinstance(specs, str):
    specs = [specs]
  parsed = []
  for text in specs:
    for part in str(text).split(','):
      if part.strip():
        parsed.append(_one(part))
  keys = [y.key for y in parsed]
  repeated = sorted({k for k in keys if keys.count(k) > 1})
  if repeated:
    raise ValueError(f'yardsticks {repeated} are named more than once; name each kernel once.')
  return tuple(parsed)


def check(yardsticks, num_importance_samples, ais_steps):
  """The parsed yardsticks, refusing them when neither IW nor AIS would score them.

  Args:
    yardsticks: as `parse` takes them (or parsed).
    num_importance_samples: K of the IW estimates (0: none).
    ais_steps: AIS steps (0: no AIS).

  Returns:
    A tuple of `Yardstick`.

  Raises:
    ValueError: as `parse`, or for yardsticks with `num_importance_samples` and `ais_steps`
      both 0.
  """
  if not isinstance(yardsticks, str) and all(isinstance(y, Yardstick) for y in yardsticks):
    parsed = tuple(yardsticks)
  else:
    parsed = parse(yardsticks)
  if parsed and not num_importance_samples and not ais_steps:
    raise ValueError(f'yardsticks {[y.spec for y in parsed]} are scored by IW or AIS: set '
                     'num_importance_samples > 0 or ais_steps > 0 (e.g. 300).')
  return parsed


def metric_keys(yardsticks):
  """The report metric keys of `yardsticks` (parsed or specs): `<key>_iw`, `<key>_ais` each."""
  return [f'{y.key}_{method}' for y in check(yardsticks, 1, 0) for method in METHODS]


def draws(yardstick, images, seed):
  """The spread data y of `yardstick` for `images`: the same for every model (module docstring).

  Args:
    yardstick: a `Yardstick`.
    images: float32 `[num, height, width, channels]` in [0, 1].
    seed: stateless seed, int32 `[2]`.

  Returns:
    float32 NumPy `[num, height, width, channels]`.
  """
  return likelihood.draw_spread(yardstick.kernel(), images, seed)


def is_own_kernel(model, yardstick):
  """Whether `yardstick` is the fixed kernel a delta-VAE `model` spreads its data with.

  Then its spread data are the model's own (the same class, scale and seed give the same draws)
  and its scores equal the run's own `iw_log_likelihood` and `ais_log_likelihood` computed with
  the same seed and settings (`tests/evaluation/yardstick_test.py`).
  """
  spread = model.spread
  if not model.spread_data or type(spread) is not FAMILIES[yardstick.family]:
    return False
  scale = np.asarray(spread.scale)
  return scale.size == 1 and scale.astype(np.float32) == np.float32(yardstick.scale)


def _score_one(model, images, yardstick, seed, settings, own, out):
  key, kernel = yardstick.key, yardstick.kernel()
  scoring, reason = spread_likelihood.spread_model(model, kernel)
  out.fields[f'{key}_reason'] = reason
  if scoring is None:
    out.fields.update({f'{key}_{method}{suffix}': None for method, _, _ in settings
                       for suffix in ('', '_stderr')})
    out.fields[f'{key}_decoder'] = None
    return
  start = time.perf_counter()
  observed = draws(yardstick, images, seed)
  out.seconds[f'{key}_draws'] = time.perf_counter() - start
  out.fields[f'{key}_draws_sha256'] = hashlib.sha256(observed.tobytes()).hexdigest()
  own = own if own and is_own_kernel(model, yardstick) else {}
  out.fields[f'{key}_is_own_kernel'] = bool(own)
  for method, num_images, options in settings:
    scored = observed[:num_images]
    if own.get(method) is not None and len(own[method]) == len(scored):
      estimate = likelihood.LikelihoodEstimate.from_values(own[method])   # the same numbers
    else:
      start = time.perf_counter()
      result = spread_likelihood.spread_log_likelihood_of(model, scored, kernel, seed, method,
                                                          **options)
      out.seconds[f'{key}_{method}'] = time.perf_counter() - start
      estimate = result['estimate']
    out.fields.update({f'{key}_{method}': estimate['mean'],
                       f'{key}_{method}_stderr': estimate['stderr'],
                       f'{key}_{method}_num_images': len(scored),
                       f'{key}_decoder': spread_likelihood.describe(scoring.spread)})
    out.per_image[f'{key}_{method}'] = estimate['per_example']


def score(model, images, yardsticks, seed, num_samples=1000, ais_settings=None,
          max_ais_images=None, max_likelihood_images=None, max_decoder_batch=10000, own=None):
  """Scores `model` under each yardstick: its `eval.json` fields, per-image values and seconds.

  Args:
    model: a built `SpreadVAE` (delta-VAE or VAE baseline).
    images: float32 `[num, height, width, channels]` in [0, 1], the held-out images.
    yardsticks: `Yardstick`s (`parse`).
    seed: stateless seed, int32 `[2]`, of the draws y and of the estimators' latent draws.
    num_samples: K of the IW estimate (0: no IW).
    ais_settings: None (no AIS) or `ais.ais_of` settings (`num_steps`, `num_chains`, ...).
    max_ais_images: None (all) or AIS on the first this many images.
    max_likelihood_images: None (all) or IW on the first this many images.
    max_decoder_batch: decoder evaluations per IW call.
    own: None, or the run's own per-image estimates computed with this seed and these settings,
      `{'iw': [n], 'ais': [n]}` (either may be None): under the model's own fixed kernel
      (`is_own_kernel`) they are the yardstick's numbers, so they are used instead of being
      computed again (`<key>_is_own_kernel` says so).

  Returns:
    A `likelihood_bounds.Estimates` (fields: see the module docstring; per-image values under
    `<key>_iw` and `<key>_ais`; seconds under `<key>_draws`, `<key>_iw`, `<key>_ais`).

  Raises:
    ValueError: for a bad yardstick, or if neither IW (`num_samples` > 0) nor AIS
      (`ais_settings`) is asked for.
  """
  yardsticks = check(yardsticks, num_samples, bool(ais_settings))
  settings = []   # (method, images scored: the first this many, estimator options)
  if num_samples:
    settings.append(('iw', max_likelihood_images,
                     dict(num_samples=num_samples, max_decoder_batch=max_decoder_batch)))
  if ais_settings:
    settings.append(('ais', max_ais_images, dict(ais_settings)))
  out = likelihood_bounds.Estimates()
  images = np.asarray(images, np.float32)
  for yardstick in yardsticks:
    _score_one(model, images, yardstick, seed, settings, own, out)
  return out
