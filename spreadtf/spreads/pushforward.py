"""Implicit models x = g(z), z ~ p(z): samples, but no density, until they are spread.

#### References

[1] Mingtian Zhang, Peter Hayes, Tom Bird, Raza Habib, David Barber. Spread Divergence.
    In International Conference on Machine Learning (ICML), 2020. https://arxiv.org/abs/1811.08968
"""

import tensorflow as tf
import tensorflow_probability as tfp

tfd = tfp.distributions

__all__ = ['Pushforward']


class Pushforward(tfd.Distribution):
  """An implicit distribution x = fn(z), z ~ latent: samples, but no density.

  A deterministic generator with dim z < dim x puts all its mass on a manifold, so
  log p(x) = -inf almost everywhere: `log_prob` raises. Spread it (`spread(model, kernel)`) to get a
  distribution with a density. `batch_shape` is `[]`, `event_shape` is the given `event_shape`.

  #### References

  [1] Mingtian Zhang, Peter Hayes, Tom Bird, Raza Habib, David Barber. Spread Divergence.
      ICML 2020. https://arxiv.org/abs/1811.08968
  """

  def __init__(self, latent, fn, event_shape, dtype=tf.float32, validate_args=False,
               name='Pushforward'):
    """Builds the pushforward.

    Args:
      latent: a `tfd.Distribution` over z with scalar batch shape (e.g. `MultivariateNormalDiag`).
      fn: a callable mapping `[n, latent_event...]` to `[n, event...]` (e.g. a Keras decoder).
      event_shape: the event shape of x, e.g. `[28, 28, 1]`.
      dtype: dtype of x.
      validate_args: Python bool, TFP convention.
      name: name of the distribution.
    """
    parameters = dict(locals())
    with tf.name_scope(name) as name:
      self._latent = latent
      self._fn = fn
      self._static_event_shape = tf.TensorShape(event_shape)
      super().__init__(dtype=dtype, reparameterization_type=latent.reparameterization_type,
                       validate_args=validate_args, allow_nan_stats=True,
                       parameters=parameters, name=name)

  @classmethod
  def _parameter_properties(cls, dtype, num_classes=None):
    return dict()

  @property
  def latent(self):
    return self._latent

  @property
  def fn(self):
    return self._fn

  def _event_shape(self):
    return self._static_event_shape

  def _event_shape_tensor(self):
    return tf.constant(self._static_event_shape.as_list(), dtype=tf.int32)

  def _batch_shape(self):
    return tf.TensorShape([])

  def _batch_shape_tensor(self):
    return tf.constant([], dtype=tf.int32)

  def _sample_n(self, n, seed=None):
    x = self._fn(self._latent.sample(n, seed=seed))
    return tf.cast(x, self.dtype)

  def _log_prob(self, x):
    raise NotImplementedError(
        'A Pushforward (implicit generator) has no density: its log-likelihood is -inf almost '
        'everywhere. Use spreadtf.spread(model, kernel) to get a spread distribution with a '
        'density.')
