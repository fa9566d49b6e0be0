"""Evaluation on real data: sample quality (FD, KID, precision / recall) and feature extractors.

Modules: `sample_quality` (the metrics on `[num, dim]` features, NumPy), `features` (extractors:
our SavedModel, any Keras model or SavedModel, InceptionV3 with user-supplied weights) and
`classifier` (the default extractor: a small conv classifier of the mnist5k digits).
"""

__all__ = []
