"""Spread kernels, spread distributions and spread divergences (TF + TFP only; no Keras, no gin)."""

from spreadtf.spreads.divergence import DivergenceEstimate
from spreadtf.spreads.divergence import jensen_shannon
from spreadtf.spreads.divergence import kl_forward
from spreadtf.spreads.divergence import kl_reverse
from spreadtf.spreads.divergence import spread_f_divergence
from spreadtf.spreads.divergence import spread_kl
from spreadtf.spreads.divergence import squared_hellinger
from spreadtf.spreads.divergence import total_variation
from spreadtf.spreads.injective import InjectiveSpread
from spreadtf.spreads.kernel_interface import SpreadKernel
from spreadtf.spreads.kernels import FactorizedKernel
from spreadtf.spreads.kernels import GaussianSpread
from spreadtf.spreads.kernels import LaplaceSpread
from spreadtf.spreads.lowrank import LowRankGaussianSpread
from spreadtf.spreads.pushforward import Pushforward
from spreadtf.spreads.spread_distribution import SpreadDistribution
from spreadtf.spreads.spread_registry import RegisterSpread
from spreadtf.spreads.spreading import spread
from spreadtf.spreads.stationary import StationaryKernel

__all__ = [
    'DivergenceEstimate', 'FactorizedKernel', 'GaussianSpread', 'InjectiveSpread',
    'LaplaceSpread', 'LowRankGaussianSpread', 'Pushforward', 'RegisterSpread',
    'SpreadDistribution', 'SpreadKernel', 'StationaryKernel', 'jensen_shannon', 'kl_forward',
    'kl_reverse', 'spread', 'spread_f_divergence', 'spread_kl', 'squared_hellinger',
    'total_variation',
]
