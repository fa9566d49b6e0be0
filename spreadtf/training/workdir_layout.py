"""Where a run's files are: every path a training run writes and evaluation or reports read.

    layout = WorkdirLayout('runs/mnist5k/gaussian/seed=0')
    layout.metrics          # runs/mnist5k/gaussian/seed=0/metrics.json
    layout.best_checkpoints # runs/mnist5k/gaussian/seed=0/checkpoints/best

A workdir holds:

  * `run_config.json`, `operative_config.gin`: the run's configuration (`workdir_config`) and
    its operative gin config;
  * `checkpoints/`: the latest checkpoints, and `best_checkpoints` inside it (what the files in
    there are called is `checkpoints`' business);
  * `tensorboard/`: training summaries, `tensorboard/eval/`: the evaluation's;
  * `metrics.json`: the training run's result; `eval.json`: the evaluation's, with its
    per-image values in `eval_per_image.npz`;
  * `export/`: the generator SavedModel, with `export/export_info.json` naming the step and
    checkpoint it was exported from;
  * `eval_samples.png`: the evaluation's sample grid; `spread_eigenvectors.png`: the learned
    low-rank spread's leading eigenvectors;
  * under multi-worker training, `.worker_<task id>/`: a non-chief worker's scratch directory,
    itself laid out as a workdir (its checkpoints and export), deleted at the end of the run.

Paths are joined with `os.path.join`, so a workdir may be local or any `tf.io.gfile` path
(`gs://...`).
"""

import dataclasses
import os

from spreadtf.training import checkpoints

__all__ = ['EXPORT_INFO', 'WorkdirLayout']

EXPORT_INFO = 'export_info.json'  # Inside the export: the step and checkpoint exported.


@dataclasses.dataclass(frozen=True)
class WorkdirLayout:
  """The paths of a run's workdir (see the module docstring).

  Attributes:
    workdir: the run's directory.
  """
  workdir: str

  def _path(self, *names):
    return os.path.join(self.workdir, *names)

  @property
  def run_config(self):
    """`run_config.json`: the configuration a resumed run must match."""
    return self._path('run_config.json')

  @property
  def operative_config(self):
    """`operative_config.gin`: the gin config evaluation rebuilds the run from."""
    return self._path('operative_config.gin')

  @property
  def checkpoints(self):
    """`checkpoints/`: the latest checkpoints (with the input position)."""
    return self._path('checkpoints')

  @property
  def best_checkpoints(self):
    """`checkpoints/best/`: the checkpoint with the best held-out ELBO."""
    return checkpoints.best_directory(self.checkpoints)

  @property
  def tensorboard(self):
    """`tensorboard/`: training summaries."""
    return self._path('tensorboard')

  @property
  def tensorboard_eval(self):
    """`tensorboard/eval/`: the evaluation's summaries."""
    return self._path('tensorboard', 'eval')

  @property
  def metrics(self):
    """`metrics.json`: the training run's result, written last."""
    return self._path('metrics.json')

  @property
  def eval(self):
    """`eval.json`: the evaluation's result."""
    return self._path('eval.json')

  @property
  def eval_per_image(self):
    """`eval_per_image.npz`: the evaluation's per-image values (`evaluation.per_image`)."""
    return self._path('eval_per_image.npz')

  @property
  def export(self):
    """`export/`: the generator SavedModel."""
    return self._path('export')

  @property
  def export_info(self):
    """`export/export_info.json`: which step and checkpoint the export holds."""
    return os.path.join(self.export, EXPORT_INFO)

  @property
  def eval_samples(self):
    """`eval_samples.png`: the evaluation's grid of samples from fixed latent codes."""
    return self._path('eval_samples.png')

  @property
  def spread_eigenvectors(self):
    """`spread_eigenvectors.png`: the learned covariance's leading eigenvectors."""
    return self._path('spread_eigenvectors.png')

  def worker_scratch(self, task_id):
    """The layout of a non-chief worker's scratch directory `.worker_<task_id>/`."""
    return WorkdirLayout(self._path(f'.worker_{task_id}'))

  def relative(self, path):
    """`path` relative to the workdir (so a moved workdir still resolves it)."""
    return os.path.relpath(path, self.workdir)

  def resolve(self, relative_path):
    """The path of `relative_path` (from `relative`) inside this workdir."""
    return self._path(relative_path)
