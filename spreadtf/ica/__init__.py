"""Deterministic linear ICA trained by spread EM, with standard-EM and FastICA baselines.

Modules: `mixing_model` (sources, validation, spread level), `data` (synthetic mixtures), `em`
(one EM step, spread or standard), `fastica` (the external baseline), `metrics` (relative error,
Amari distance), `plots` (the ICA figures), `ica_run` (the gin root that runs and records all
three methods) and `sweep` (one macro over values and seeds, sharded, merged into results.csv).
"""

__all__ = []
