"""Evaluation of trained runs: held-out likelihood, sample quality in a feature space, reports.

Modules: `likelihood` (spread ELBO and importance-weighted log p~(y)), `sample_quality`
(Frechet distance, KID, precision/recall), `features` (feature extractors), `classifier` (the
default mnist5k feature classifier), `experiment` (the root behind `launch/evaluate.py`),
`report` (tables and plots over several runs, behind `launch/report.py`), `statistics`
(intervals over seeds, Welch and permutation tests, Hedges' g, bootstrap over test images, Holm),
`comparisons` (a study's declared `Comparison`), `claims` (declared comparisons tested over the
report's configurations), `verdicts` (the words a claim gets from its test), `per_image`
(`eval_per_image.npz`, the per-image values behind `eval.json`).
"""

__all__ = []
