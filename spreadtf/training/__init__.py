"""Training: `make_strategy`, the one training loop, and the gin root `training_run.train`."""

from spreadtf.training.strategy import make_strategy
from spreadtf.training.training_run import train

__all__ = ['make_strategy', 'train']
