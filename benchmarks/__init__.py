"""spreadtf's benchmarks, measured side by side with plain NumPy and PyTorch references.

Run `python launch/benchmark.py` (`make benchmark`); the package is installed with spreadtf
(editable, from the repository). `reference/` holds the reference implementations, standalone
scripts that import neither spreadtf nor TensorFlow.
"""

__all__ = []
