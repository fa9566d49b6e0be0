"""Keras models for the delta-VAE: networks (MLP, the paper's CelebA conv nets) and SpreadVAE."""

from spreadtf.models.spread_vae import SpreadVAE
from spreadtf.models.spread_vae import make_spread_vae

__all__ = ['SpreadVAE', 'make_spread_vae']
