"""Reference implementations: standalone scripts in plain NumPy and plain PyTorch.

Each runs as `<python> benchmarks/reference/<name>.py --help` and prints one JSON line; none
imports spreadtf or TensorFlow (the PyTorch one runs in its own virtual environment).
"""

__all__ = []
