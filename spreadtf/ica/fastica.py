"""The FastICA baseline (Hyvarinen 1999) via scikit-learn, on the same data as EM.

For X > Z, sklearn's FastICA first whitens by PCA onto Z components and returns `mixing_` of
shape `[x_dim, z_dim]` (whitening and unmixing composed back), so it can be scored against
A_true with the same metrics. With `whiten='unit-variance'` the recovered sources have unit
variance, which matches the unit-variance Laplace sources; the scale is still only approximately
right, see `metrics.relative_error_rescaled`.
"""

import numpy as np
from sklearn import decomposition

__all__ = ['fit_fastica']


def fit_fastica(x, z_dim, seed, max_iter=1000, tol=1e-4):
  """Fits FastICA with Z components and returns its mixing matrix.

  Args:
    x: data `[num_points, x_dim]`.
    z_dim: number of components Z.
    seed: Python int, FastICA's `random_state`.
    max_iter: FastICA iteration cap.
    tol: FastICA convergence tolerance.

  Returns:
    `(mixing [x_dim, z_dim] float64 array, iterations run)`.
  """
  ica = decomposition.FastICA(n_components=z_dim, whiten='unit-variance', random_state=seed,
                              max_iter=max_iter, tol=tol)
  ica.fit(np.asarray(x, np.float64))
  return ica.mixing_, int(ica.n_iter_)
