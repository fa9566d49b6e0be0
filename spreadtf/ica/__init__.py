"""Deterministic linear ICA trained by spread EM, with standard-EM and FastICA baselines.

Modules: `model` (sources, validation, spread level), `data` (synthetic mixtures), `em` (one EM
step, spread or standard), `fastica` (the external baseline), `metrics` (relative error, Amari
distance), `plots` (the ICA figures) and `experiment` (the gin root that runs and records all
three methods).
"""

__all__ = []
