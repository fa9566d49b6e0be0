"""Evaluation of trained runs: held-out likelihood, sample quality in a feature space, reports.

Modules: `likelihood` (spread ELBO and importance-weighted log p~(y)), `sample_quality`
(Frechet distance, KID, precision/recall), `features` (feature extractors), `classifier` (the
default mnist5k feature classifier), `experiment` (the root behind `launch/evaluate.py`),
`report` (tables and plots over several runs, behind `launch/report.py`).
"""

__all__ = []
