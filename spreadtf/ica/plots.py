"""The ICA figures, as PNG bytes: error against EM iteration (one run), error against a swept value.

Callers write the bytes with `spreadtf.files.write_bytes`, so a figure appears whole or not at
all (also on `gs://` paths):

    files.write_bytes(os.path.join(workdir, 'error_vs_iteration.png'),
                      plots.error_vs_iteration(curves, fastica_error, title))
"""

import io

from matplotlib import figure
import numpy as np

__all__ = ['error_vs_iteration', 'error_vs_parameter']


def _png(fig):
  buffer = io.BytesIO()
  fig.tight_layout()
  fig.savefig(buffer, format='png', dpi=100)
  return buffer.getvalue()


def _label(method):
  return method.replace('_', ' ')


def error_vs_iteration(curves, fastica_error, title):
  """Relative error of A against EM iteration, FastICA as a horizontal line.

  Args:
    curves: `{method: [(iteration, relative_error), ...]}` for the EM methods.
    fastica_error: FastICA's relative error, or None.
    title: the figure title.

  Returns:
    PNG bytes.
  """
  fig = figure.Figure(figsize=(6., 4.))
  ax = fig.add_subplot()
  for name, curve in curves.items():
    iterations, errors = zip(*curve, strict=True)
    ax.plot(iterations, errors, label=_label(name))
  if fastica_error is not None:
    ax.axhline(fastica_error, color='k', linestyle='--', label='FastICA')
  ax.set_yscale('log')
  ax.set_xlabel('EM iteration')
  ax.set_ylabel('relative error of A')
  ax.set_title(title)
  ax.legend()
  return _png(fig)


def error_vs_parameter(rows, parameter):
  """The paper's Fig. 1 style: relative error (mean +- standard error over seeds) per method.

  The x axis is logarithmic when the values span a factor of 10 or more and are positive, and
  symmetric-logarithmic when they include 0.

  Args:
    rows: dicts with `method`, `value` (a number or its string) and `relative_error`, one per
      (value, seed, method), e.g. the rows of a sweep's results.csv; a missing error (None or
      '', a run that diverged) is left out.
    parameter: the swept macro, for the axis label.

  Returns:
    PNG bytes.
  """
  fig = figure.Figure(figsize=(6., 4.))
  ax = fig.add_subplot()
  for method in dict.fromkeys(row['method'] for row in rows):
    points = {}
    for row in rows:
      if row['method'] == method and row['relative_error'] not in (None, ''):
        points.setdefault(float(row['value']), []).append(float(row['relative_error']))
    if not points:
      continue
    values = sorted(points)
    means = np.array([np.mean(points[v]) for v in values])
    errors = np.array([np.std(points[v], ddof=1) / np.sqrt(len(points[v]))
                       if len(points[v]) > 1 else 0. for v in values])
    line, = ax.plot(values, means, marker='o', label=_label(method))
    ax.fill_between(values, means - errors, means + errors, color=line.get_color(), alpha=0.25)
  values = sorted({float(row['value']) for row in rows})
  if min(values) > 0 and max(values) >= 10. * min(values):
    ax.set_xscale('log')
  elif min(values) == 0 and len(values) > 2:
    ax.set_xscale('symlog', linthresh=min(v for v in values if v > 0))
  ax.set_yscale('log')
  ax.set_xlabel(parameter)
  ax.set_ylabel('relative error of A (mean +- s.e.)')
  ax.legend()
  return _png(fig)
