"""Training: `make_strategy`, the one training loop, and the gin root `experiment.train`."""

from spreadtf.training.experiment import train
from spreadtf.training.strategy import make_strategy

__all__ = ['make_strategy', 'train']
