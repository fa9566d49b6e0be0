"""Spread kernels, spread distributions and spread divergences (TF + TFP only; no Keras, no gin)."""

from spreadtf.spreads.kernels import GaussianSpread
from spreadtf.spreads.kernels import LaplaceSpread
from spreadtf.spreads.kernels import SpreadKernel

__all__ = ['GaussianSpread', 'LaplaceSpread', 'SpreadKernel']
