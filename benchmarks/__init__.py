"""spreadtf's benchmarks, measured side by side with plain NumPy and PyTorch references.

Run from the repository root, `python -m launch.benchmark` (`make benchmark`); the package is
not installed with spreadtf. `reference/` holds the reference implementations, standalone scripts
that import neither spreadtf nor TensorFlow.
"""

__all__ = []
