"""spreadtf: Spread Divergence (Zhang et al., ICML 2020) in TensorFlow, TFP and Keras 3.

The public API: spread kernels (`GaussianSpread`, `LaplaceSpread`, and the learned
`LowRankGaussianSpread`, `InjectiveSpread`), spread distributions
(`spread`, `SpreadDistribution`, `Pushforward`) and spread divergences (`spread_kl`,
`spread_f_divergence` with the f-functions `kl_forward`, `kl_reverse`, `jensen_shannon`,
`total_variation`, `squared_hellinger`). Subpackages: `spreadtf.spreads`, `spreadtf.ica`,
`spreadtf.models`, `spreadtf.training`, `spreadtf.data`, `spreadtf.export`.

#### References

[1] Mingtian Zhang, Peter Hayes, Tom Bird, Raza Habib, David Barber. Spread Divergence.
    In International Conference on Machine Learning (ICML), 2020. https://arxiv.org/abs/1811.08968
"""

from spreadtf.spreads import DivergenceEstimate
from spreadtf.spreads import GaussianSpread
from spreadtf.spreads import InjectiveSpread
from spreadtf.spreads import jensen_shannon
from spreadtf.spreads import kl_forward
from spreadtf.spreads import kl_reverse
from spreadtf.spreads import LaplaceSpread
from spreadtf.spreads import LowRankGaussianSpread
from spreadtf.spreads import Pushforward
from spreadtf.spreads import spread
from spreadtf.spreads import spread_f_divergence
from spreadtf.spreads import spread_kl
from spreadtf.spreads import SpreadDistribution
from spreadtf.spreads import SpreadKernel
from spreadtf.spreads import squared_hellinger
from spreadtf.spreads import total_variation

__version__ = '0.1.0'

__all__ = [
    'DivergenceEstimate', 'GaussianSpread', 'InjectiveSpread', 'LaplaceSpread',
    'LowRankGaussianSpread', 'Pushforward', 'SpreadDistribution',
    'SpreadKernel', 'jensen_shannon', 'kl_forward', 'kl_reverse', 'spread', 'spread_f_divergence',
    'spread_kl', 'squared_hellinger', 'total_variation',
]
