"""spreadtf: Spread Divergence (Zhang et al., ICML 2020) in TensorFlow, TFP and Keras 3.

The public API: spread kernels (`GaussianSpread`, `LaplaceSpread`, and the learned
`LowRankGaussianSpread`, `InjectiveSpread`) and the classes a new kernel derives from
(`SpreadKernel`, the interface; `StationaryKernel`, `FactorizedKernel`), spread distributions
(`spread`, `SpreadDistribution`, `Pushforward`; `RegisterSpread` registers a closed form of
`spread` for a distribution type and a kernel type) and spread divergences (`spread_kl`,
`spread_f_divergence` with the f-functions `kl_forward`, `kl_reverse`, `jensen_shannon`,
`total_variation`, `squared_hellinger`). Subpackages: `spreadtf.spreads`, `spreadtf.ica`,
`spreadtf.models`, `spreadtf.training`, `spreadtf.data`, `spreadtf.export`, `spreadtf.studies`;
TF-only modules: `spreadtf.files`, `spreadtf.images`, `spreadtf.sharding`, and `spreadtf.seeding`
(NumPy only).

The package is lazy (PEP 562): `import spreadtf` imports nothing heavy, and the API above is
imported from `spreadtf.spreads` (which needs TFP) on first use, by `spreadtf.GaussianSpread` or
`from spreadtf import GaussianSpread` alike. So `from spreadtf import images` works where TFP is
not installed (`launch/sample.py`).

#### References

[1] Mingtian Zhang, Peter Hayes, Tom Bird, Raza Habib, David Barber. Spread Divergence.
    In International Conference on Machine Learning (ICML), 2020. https://arxiv.org/abs/1811.08968
"""

import importlib

__version__ = '0.1.0'

__all__ = [
    'DivergenceEstimate', 'FactorizedKernel', 'GaussianSpread', 'InjectiveSpread',
    'LaplaceSpread', 'LowRankGaussianSpread', 'Pushforward', 'RegisterSpread',
    'SpreadDistribution', 'SpreadKernel', 'StationaryKernel', 'jensen_shannon', 'kl_forward',
    'kl_reverse', 'spread', 'spread_f_divergence', 'spread_kl', 'squared_hellinger',
    'total_variation',
]

# Names of __all__ come from this subpackage; these submodules load on attribute access.
_API_MODULE = 'spreadtf.spreads'
_SUBMODULES = ('data', 'export', 'files', 'ica', 'images', 'models', 'seeding', 'sharding',
               'spreads', 'studies', 'training')


def __getattr__(name):
  """Imports a public name or submodule on first use (PEP 562) and caches it."""
  if name in __all__:
    value = getattr(importlib.import_module(_API_MODULE), name)
  elif name in _SUBMODULES:
    value = importlib.import_module(f'{__name__}.{name}')
  else:
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
  globals()[name] = value
  return value


def __dir__():
  return sorted(set(globals()) | set(__all__) | set(_SUBMODULES))
