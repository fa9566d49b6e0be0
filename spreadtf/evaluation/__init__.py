"""Evaluation of trained runs: held-out likelihood, sample quality in a feature space, reports.

Modules: `likelihood` (spread ELBO, importance-weighted log p~(y) and its K sweep, on one spread
draw per image), `ais` (annealed importance sampling of log p~(y)), `bdmc` (forward and reverse
AIS bounds on data simulated from the model), `spread_likelihood` (every run scored by log q~(y)
on the same spread data; the dequantised likelihood of VAE baselines), `likelihood_bounds` (their
`eval.json` fields, per-image values and seconds), `yardstick` (the `--yardstick` kernels: every
run scored under a named kernel on the same spread data), `sample_quality` (Frechet distance,
KID, precision/recall), `sample_sets` (the metrics over several generated sets and feature
views), `features` (feature extractors),
`shipped_features` (the two mnist5k views that ship with spreadtf, SHA-256 pinned by
`pinned_weights`: `feature_classifier`, the default digit classifier, and `feature_autoencoder`,
the blur-sensitive view), `calibration` and `degradations` (what each metric catches, on held-out
digits with known defects),
`evaluation_run` (the root behind `launch/evaluate.py`;
it reads a trained run through `spreadtf.training.run_restoring`), `report` (tables and plots over
several runs, behind `launch/report.py`), `statistics` (intervals over seeds, Welch and
permutation tests, Hedges' g, bootstrap over test images, Holm), `comparisons` (a study's declared
`Comparison`), `claims` (declared comparisons tested over the report's configurations),
`verdicts` (the words a claim gets from its test), `per_image` (`eval_per_image.npz`, the
per-image values behind `eval.json`), `commands` (the bodies of `launch/evaluate.py`,
`launch/report.py` and `launch/train_features.py`).
"""

__all__ = []
