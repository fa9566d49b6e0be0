"""The data a training run reads: the training split and ONE held-out split, named here.

Training reads two splits of its data function and no other: `TRAIN_SPLIT` for the steps and
`HELD_OUT_SPLIT` for everything it decides on held-out data (the per-epoch evaluations in
TensorBoard, early stopping, the best checkpoint, and the probe batch of learned-spread phases).
The final numbers of a run are measured by evaluation (`spreadtf.evaluation`), on the data's
test split.

Every dataset is global batches from `data_fn(split=, global_batch_size=, seed=)`, checked to hold
images of the model's shape before any file is written. Its shuffle seed is the named sub-seed
`data/<start step>` of the run seed: a run that cannot save its input position reshuffles from
the step it resumes at.
"""

import dataclasses
import typing

from spreadtf import seeding
from spreadtf.data import pipeline

__all__ = ['TRAIN_SPLIT', 'HELD_OUT_SPLIT', 'RunInputs']

TRAIN_SPLIT = 'train'
# The split training selects on (evaluations, early stopping, best checkpoint, spread probe).
HELD_OUT_SPLIT = 'validation'


@dataclasses.dataclass(frozen=True)
class RunInputs:
  """The input pipelines of a run.

  Attributes:
    data_fn: `fn(split, global_batch_size, seed) -> tf.data.Dataset` of image batches.
    seed: the run seed.
    global_batch_size: batch over all replicas.
    image_shape: `(height, width, channels)` the model expects.
  """
  data_fn: typing.Callable
  seed: int
  global_batch_size: int
  image_shape: tuple

  def _dataset(self, split, start_step=0):
    dataset = self.data_fn(split=split, global_batch_size=self.global_batch_size,
                           seed=seeding.sub_seed(self.seed, f'data/{start_step}'))
    return pipeline.check_image_shape(dataset, self.image_shape)

  def train(self, start_step=0):
    """The training batches, shuffled from the seed of `start_step`.

    Raises:
      ValueError: if its images do not have `image_shape`.
    """
    return self._dataset(TRAIN_SPLIT, start_step)

  def held_out(self):
    """The held-out batches (`HELD_OUT_SPLIT`), read from their start at every evaluation.

    Raises:
      ValueError: if its images do not have `image_shape`.
    """
    return self._dataset(HELD_OUT_SPLIT)
