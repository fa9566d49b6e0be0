"""How close an estimated mixing matrix is to the true one, up to ICA's ambiguities.

ICA identifies A only up to a permutation and sign (and, for methods that do not fix the source
scale, a per-column scale). All functions take NumPy-convertible `[x_dim, z_dim]` matrices and
return Python floats.
"""

import numpy as np
from scipy import optimize

__all__ = ['match_columns', 'relative_error', 'relative_error_rescaled', 'amari_distance']


def match_columns(a_true, a_est):
  """Permutes and sign-flips the columns of `a_est` to best match `a_true`.

  Columns are paired by the Hungarian algorithm (scipy `linear_sum_assignment`) maximising the
  total |cosine similarity| between columns; each matched column is then multiplied by the sign
  of its inner product with the true column.

  Args:
    a_true: true mixing matrix `[x_dim, z_dim]`.
    a_est: estimate `[x_dim, z_dim]`.

  Returns:
    The matched estimate, a float64 array `[x_dim, z_dim]`.
  """
  a_true = np.asarray(a_true, np.float64)
  a_est = np.asarray(a_est, np.float64)
  similarity = np.abs(a_true.T @ a_est) / np.outer(
      np.linalg.norm(a_true, axis=0), np.linalg.norm(a_est, axis=0))
  _, columns = optimize.linear_sum_assignment(-similarity)
  matched = a_est[:, columns]
  return matched * np.sign(np.sum(a_true * matched, axis=0))


def relative_error(a_true, a_est):
  """The paper's error mean_ij |A_est - A_true|_ij / |A_true|_ij after permutation and sign.

  No rescaling: EM fits the sources' unit scale, so a wrong scale counts as error.

  Args:
    a_true: true mixing matrix `[x_dim, z_dim]` with no zero entries.
    a_est: estimate `[x_dim, z_dim]`.

  Returns:
    A float >= 0; 0 iff `a_est` is a signed permutation of the columns of `a_true`.
  """
  a_true = np.asarray(a_true, np.float64)
  return float(np.mean(np.abs(match_columns(a_true, a_est) - a_true) / np.abs(a_true)))


def relative_error_rescaled(a_true, a_est):
  """`relative_error` after also rescaling each matched column by its least-squares factor.

  After `match_columns`, column j is multiplied by c_j = <a_true_j, a_j> / <a_j, a_j> (c_j > 0
  after the sign flip), the scale minimising ||c a_j - a_true_j||_2. Use it for methods whose
  source scale is arbitrary (FastICA); it is never larger than `relative_error` by more than
  the scale mismatch, and equals 0 for any signed, scaled permutation of `a_true`.

  Args:
    a_true: true mixing matrix `[x_dim, z_dim]` with no zero entries.
    a_est: estimate `[x_dim, z_dim]`.

  Returns:
    A float >= 0.
  """
  a_true = np.asarray(a_true, np.float64)
  matched = match_columns(a_true, a_est)
  matched = matched * (np.sum(a_true * matched, axis=0) / np.sum(matched * matched, axis=0))
  return float(np.mean(np.abs(matched - a_true) / np.abs(a_true)))


def amari_distance(a_true, a_est):
  """Amari distance between A_true and A_est, normalised to [0, 1].

  With P = pinv(A_est) A_true (`[z_dim, z_dim]`; the plain inverse when X = Z):

      d = 1 / (2 Z (Z - 1)) * ( sum_i (sum_j |P_ij| / max_j |P_ij| - 1)
                              + sum_j (sum_i |P_ij| / max_i |P_ij| - 1) ).

  Each of the 2Z bracketed terms lies in [0, Z - 1], so d is in [0, 1]; d = 0 iff P is a scaled
  permutation, i.e. A_est recovers A_true up to permutation, sign and scale. For Z = 1, d = 0.

  Args:
    a_true: true mixing matrix `[x_dim, z_dim]`.
    a_est: estimate `[x_dim, z_dim]`.

  Returns:
    A float in [0, 1].
  """
  p = np.abs(np.linalg.pinv(np.asarray(a_est, np.float64)) @ np.asarray(a_true, np.float64))
  z_dim = p.shape[0]
  if z_dim < 2:
    return 0.
  rows = np.sum(np.sum(p, axis=1) / np.max(p, axis=1) - 1.)
  columns = np.sum(np.sum(p, axis=0) / np.max(p, axis=0) - 1.)
  return float((rows + columns) / (2. * z_dim * (z_dim - 1.)))
