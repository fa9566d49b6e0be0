"""Learning the spread: alternating maximisation over the spread and minimisation over the model.

The paper (section 4; the authors' code) chooses the spread to maximise the divergence's power to
tell data and model apart: min over the model (theta, phi), max over the spread psi of the same
spread-KL upper bound (the negative spread ELBO). The spread constraints (determinant-normalised
low-rank factor, spectrally normalised injective map) keep the maximisation bounded.

The model trains every step. A *spread phase* of `num_steps` ascent steps on psi (its own
optimizer; Adam at 1e-5 in the paper) runs before model step `start_step`, and then before every
`period`-th model step after it. The paper's CelebA schedule in epochs (from epoch 100, every 10
epochs, 1000 ascent steps) becomes `start_step = 100 * steps_per_epoch`,
`period = 10 * steps_per_epoch`, `num_steps = 1000`.

A phase runs its ascent steps in one compiled loop (`loop.make_loop_fn`), each step guarded by
the model's `spread_guard` like a model step (`spreadtf.nonfinite_guard`): a step whose spread
objective or gradient is NaN or Inf, or whose update would blow the spread's variables up, is not
applied. `on_nonfinite='stop'` ends the phase right after such a step and raises
`loop.DivergedError` of phase 'spread'; `'skip_step'` counts it and goes on, until `limit` spread
steps in a row were refused (counted across phases: the spread does not change between them).

#### References

[1] Mingtian Zhang, Peter Hayes, Tom Bird, Raza Habib, David Barber. Spread Divergence.
    ICML 2020. https://arxiv.org/abs/1811.08968
"""

import dataclasses

from absl import logging
import gin
import tensorflow as tf

from spreadtf import files
from spreadtf.training import loop
from spreadtf.training import run_options
from spreadtf.training import strategy as strategy_lib
from spreadtf.training import summaries

__all__ = ['SpreadPhaseHook', 'SpreadPhaseRunner', 'SpreadSchedule', 'make_spread_optimizer',
           'make_spread_schedule']


@dataclasses.dataclass(frozen=True)
class SpreadSchedule:
  """When spread phases run, in model steps.

  Attributes:
    start_step: model step before which the first phase runs (0: before the first model step).
    period: model steps between phases (>= 1).
    num_steps: spread-ascent steps per phase (>= 1).
  """
  start_step: int = 0
  period: int = 1000
  num_steps: int = 100

  def __post_init__(self):
    for name, low in (('start_step', 0), ('period', 1), ('num_steps', 1)):
      value = getattr(self, name)
      if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ValueError(f'SpreadSchedule.{name} must be an int >= {low}, got {value!r}.')

  def is_due(self, step):
    """True if a spread phase runs before model step `step`."""
    return step >= self.start_step and (step - self.start_step) % self.period == 0


@gin.configurable(module='spreadtf.training.spread_learning')
def make_spread_schedule(start_step=0, period=1000, num_steps=100):
  """Gin factory of a `SpreadSchedule` (see its attributes)."""
  return SpreadSchedule(start_step=start_step, period=period, num_steps=num_steps)


class SpreadPhaseRunner:
  """Runs spread phases of a `SpreadVAE` under a strategy (compiles its steps once).

  The objective is measured on a probe batch with the model's fixed probe seed before and after
  each phase, so the two numbers differ only through the spread parameters (common random
  numbers; for an `InjectiveSpread`, also through its power-iteration state, which every forward
  pass refines); under a fixed model the ascent should not lower it.
  """

  def __init__(self, model, strategy, on_nonfinite='stop', limit=None, skip_streak=None):
    """Compiles the phase's loop and the probe (nothing runs).

    Args:
      model: a compiled `SpreadVAE` with a spread optimizer.
      strategy: the strategy that built it.
      on_nonfinite: 'stop' or 'skip_step' (see the module docstring).
      limit: under 'skip_step', the refused spread steps in a row that end the run (an int,
        e.g. from `loop.consecutive_limit`), or None (never); 'stop' ends it at the first.
      skip_streak: None, or an int64 variable of the spread steps refused in a row
        (checkpointed by the training root, so a resumed run keeps the count).

    Raises:
      ValueError: for a bad `on_nonfinite`.
    """
    run_options.check_on_nonfinite(on_nonfinite)
    limit = 1 if on_nonfinite == 'stop' else limit
    self._model = model
    self._strategy = strategy
    self._steps = loop.make_loop_fn(strategy, model.spread_step, guard=model.spread_guard,
                                    limit=limit)
    self._refused = loop.RefusedSteps(model.spread_guard, on_nonfinite, limit, skip_streak,
                                      phase='spread')
    self._probe = self._compile_probe()

  def _compile_probe(self):
    strategy, probe = self._strategy, self._model.probe_objective

    @tf.function
    def run(batch):
      per_replica = strategy.run(probe, args=(strategy_lib.split_batch(strategy, batch),))
      # Each replica returns its share sum_i loss_i / global_batch: the SUM is the global mean.
      return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    return run

  def probe(self, batch):
    """The mean negative spread ELBO on a global `batch` at the fixed probe seed."""
    return float(self._probe(batch).numpy())

  def __call__(self, iterator, num_steps, probe_batch, step=None):
    """Runs `num_steps` guarded ascent steps on global batches from the `tf.data` `iterator`.

    Args:
      iterator: iterator of global training batches.
      num_steps: ascent steps.
      probe_batch: the global batch the objective is measured on before and after.
      step: the model step before which the phase runs (named by a `DivergedError`).

    Returns:
      Dict of floats: `objective_before`, `objective_after` (the mean negative spread ELBO on
      `probe_batch`, the spread-KL upper bound being maximised), `spread_steps` (the spread
      optimizer's step count after the phase, refused steps included) and
      `skipped_spread_steps` (refused spread steps so far, this phase's included).

    Raises:
      loop.DivergedError: of phase 'spread', under 'stop' right after a refused step, under
        'skip_step' once `limit` steps in a row were refused.
    """
    before = self.probe(probe_batch)
    in_a_row = self._steps(iterator, tf.constant(num_steps, tf.int32),
                           tf.constant(self._refused.in_a_row, tf.int64))
    self._refused.after_loop(in_a_row, step)
    return {'objective_before': before, 'objective_after': self.probe(probe_batch),
            'spread_steps': int(self._model.spread_optimizer.iterations.numpy()),
            'skipped_spread_steps': self._refused.count}


def make_spread_optimizer(model, spread_optimizer_fn, spread_schedule):
  """The spread optimizer, built on the spread's variables, or None without spread learning.

  Call inside `strategy.scope()`.

  Args:
    model: a built `SpreadVAE`.
    spread_optimizer_fn: zero-argument optimizer constructor, or None.
    spread_schedule: a `SpreadSchedule`, or None.

  Returns:
    A built Keras optimizer, or None when both arguments are None.

  Raises:
    ValueError: if only one of the two is given, or the spread has no trainable variables.
  """
  if (spread_optimizer_fn is None) != (spread_schedule is None):
    raise ValueError('spread learning needs both `spread_schedule` and `spread_optimizer_fn` '
                     f'(got spread_schedule={spread_schedule!r}, '
                     f'spread_optimizer_fn={spread_optimizer_fn!r}).')
  if spread_schedule is None:
    return None
  if not model.spread.trainable_variables:
    raise ValueError(f'`spread_schedule` is set but the spread {type(model.spread).__name__} has '
                     'no trainable variables; use a learned spread (LowRankGaussianSpread, '
                     'InjectiveSpread) or drop the schedule.')
  spread_optimizer = spread_optimizer_fn()
  spread_optimizer.build(model.spread.trainable_variables)
  return spread_optimizer


class SpreadPhaseHook:
  """The training loop's `before_step` hook of a learned-spread run.

  Before every model step where the schedule is due it runs a spread phase, writes its
  `spread/*` summaries (and, for a low-rank spread, the condition number of its raw factor and
  the leading eigenvectors of the learned covariance, the paper's Fig. 2d, also as a PNG), and
  logs the objective before and after.

  Attributes:
    phases: the logs of every phase run so far by this hook (see `SpreadPhaseRunner`).
  """

  def __init__(self, model, strategy, schedule, probe_data, writer, eigenvector_path=None,
               num_eigenvectors=20, on_nonfinite='stop', limit=None, skip_streak=None):
    """Compiles the phase steps and takes the probe batch.

    Args:
      model: a compiled `SpreadVAE` with a spread optimizer.
      strategy: the strategy that built it.
      schedule: a `SpreadSchedule`.
      probe_data: `tf.data.Dataset` whose first global batch is the fixed probe batch (the
        objective before and after a phase is measured on it).
      writer: a `tf.summary` writer.
      eigenvector_path: where to write the eigenvector PNG, or None (not the chief).
      num_eigenvectors: leading eigenvectors shown (at most the rank; ignored for spreads
        without `principal_directions`).
      on_nonfinite: 'stop' or 'skip_step', for refused spread steps (`SpreadPhaseRunner`).
      limit: under 'skip_step', refused spread steps in a row that end the run, or None.
      skip_streak: None, or the int64 variable of spread steps refused in a row.
    """
    self._model = model
    self._schedule = schedule
    self._writer = writer
    self._eigenvector_path = eigenvector_path
    self._runner = SpreadPhaseRunner(model, strategy, on_nonfinite, limit, skip_streak)
    self._probe_batch = next(iter(probe_data))
    self._num_eigenvectors = (min(num_eigenvectors, model.spread.rank)
                              if hasattr(model.spread, 'principal_directions') else 0)
    self.phases = []

  def is_due(self, step):
    """True if a spread phase runs before model step `step`."""
    return self._schedule.is_due(step)

  def __call__(self, step, iterator):
    """Runs a phase on global batches of the `tf.data` `iterator` if one is due before `step`.

    Raises:
      loop.DivergedError: of phase 'spread' (see `SpreadPhaseRunner`); nothing is written.
    """
    if not self._schedule.is_due(step):
      return
    model = self._model
    logs = self._runner(iterator, self._schedule.num_steps, self._probe_batch, step)
    if hasattr(model.spread, 'condition_number'):
      logs['condition_number'] = float(model.spread.condition_number())
    eigenvectors = (summaries.eigenvector_images(model.spread, model.image_shape,
                                                 self._num_eigenvectors)
                    if self._num_eigenvectors else None)
    summaries.write_spread_summaries(self._writer, step, logs, eigenvectors)
    if eigenvectors is not None and self._eigenvector_path:
      files.write_bytes(self._eigenvector_path,
                        summaries.to_png(summaries.image_grid(eigenvectors)).numpy())
    logging.info('spread phase before step %d: objective %.4f -> %.4f (spread step %d%s%s)',
                 step, logs['objective_before'], logs['objective_after'], logs['spread_steps'],
                 (f'; condition number of L_raw {logs["condition_number"]:.4g}'
                  if 'condition_number' in logs else ''),
                 (f'; {logs["skipped_spread_steps"]} spread steps skipped so far'
                  if logs['skipped_spread_steps'] else ''))
    self.phases.append(logs)
