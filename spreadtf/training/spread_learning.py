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

#### References

[1] Mingtian Zhang, Peter Hayes, Tom Bird, Raza Habib, David Barber. Spread Divergence.
    ICML 2020. https://arxiv.org/abs/1811.08968
"""

import dataclasses

import gin
import tensorflow as tf

__all__ = ['SpreadPhaseRunner', 'SpreadSchedule', 'make_spread_schedule']


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

  def __init__(self, model, strategy):
    """Args: a compiled `SpreadVAE` with a spread optimizer, and the strategy that built it."""
    self._model = model
    self._strategy = strategy
    self._step = self._compile(model.spread_step)
    self._probe = self._compile(model.probe_objective)

  def _compile(self, fn):
    strategy = self._strategy

    @tf.function
    def run(batch):
      # Each replica returns its share sum_i loss_i / global_batch: the SUM is the global mean.
      return strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(fn, args=(batch,)),
                             axis=None)

    return run

  def probe(self, batch):
    """The mean negative spread ELBO on a distributed `batch` at the fixed probe seed."""
    return float(self._probe(batch).numpy())

  def __call__(self, iterator, num_steps, probe_batch):
    """Runs `num_steps` ascent steps on batches from the distributed `iterator`.

    Returns:
      Dict of floats: `objective_before`, `objective_after` (the mean negative spread ELBO on
      `probe_batch`, the spread-KL upper bound being maximised) and `spread_steps` (the spread
      optimizer's step count after the phase).
    """
    before = self.probe(probe_batch)
    for _ in range(num_steps):
      self._step(next(iterator))
    return {'objective_before': before, 'objective_after': self.probe(probe_batch),
            'spread_steps': int(self._model.spread_optimizer.iterations.numpy())}
