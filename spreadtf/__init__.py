"""spreadtf: Spread Divergence (Zhang et al., ICML 2020) in TensorFlow, TFP and Keras 3.

#### References

[1] Mingtian Zhang, Peter Hayes, Tom Bird, Raza Habib, David Barber. Spread Divergence.
    In International Conference on Machine Learning (ICML), 2020. https://arxiv.org/abs/1811.08968
"""

from spreadtf.spreads import GaussianSpread
from spreadtf.spreads import LaplaceSpread
from spreadtf.spreads import SpreadKernel

__all__ = ['GaussianSpread', 'LaplaceSpread', 'SpreadKernel']
