"""Tests of SpreadVAE: the train step, its variants, seeded sampling and the delta likelihood."""

from absl.testing import parameterized
import gin
import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from spreadtf.data import fake
from spreadtf.models import mlp
from spreadtf.models import spread_vae
from spreadtf.spreads import injective
from spreadtf.spreads import kernels
from spreadtf.spreads import lowrank

tfd = tfp.distributions

_IMAGE_SHAPE = (28, 28, 1)


def _make_tiny_model(**overrides):
  """A built and compiled tiny MLP SpreadVAE on 28x28x1 images."""
  config = dict(image_shape=_IMAGE_SHAPE, latent_dim=4, seed=0,
                encoder_fn=lambda **kw: mlp.make_encoder(hidden_units=(32,), **kw),
                decoder_fn=lambda **kw: mlp.make_decoder(hidden_units=(32,), **kw),
                spread_fn=lambda: kernels.GaussianSpread(0.1))
  learning_rate = overrides.pop('learning_rate', 3e-3)
  config.update(overrides)
  keras.utils.set_random_seed(0)
  model = spread_vae.make_spread_vae(**config)
  model(tf.zeros((1,) + tuple(config['image_shape'])))
  model.compile(optimizer=keras.optimizers.Adam(learning_rate))
  model.optimizer.build(model.trainable_variables)
  return model


def _train(model, images, steps):
  step = tf.function(model.train_step)
  losses = []
  for _ in range(steps):
    for m in model.metrics:
      m.reset_state()
    losses.append(float(step(images)['loss']))
  return np.array(losses)


class SpreadVAETest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)
    self.images = tf.constant(fake.make_images(32, _IMAGE_SHAPE))

  @parameterized.named_parameters(
      ('gaussian', dict()),
      ('laplace', dict(spread_fn=lambda: kernels.LaplaceSpread(0.1))),
      ('low_variance', dict(low_variance=True)),
      ('vae_baseline', dict(spread_data=False, spread_fn=lambda: kernels.GaussianSpread(0.7071))),
      ('mixed_bfloat16', dict(dtype_policy='mixed_bfloat16')))
  def test_train_step_gives_finite_metrics(self, overrides):
    model = _make_tiny_model(**overrides)
    logs = tf.function(model.train_step)(self.images)
    self.assertCountEqual(logs, ['loss', 'elbo', 'reconstruction', 'kl'])
    for name, value in logs.items():
      self.assertTrue(np.isfinite(value), name)
      self.assertEqual(value.dtype, tf.float32, name)
    self.assertAllClose(logs['elbo'], logs['reconstruction'] - logs['kl'], rtol=1e-5)
    self.assertGreaterEqual(float(logs['kl']), 0.)
    self.assertEqual(int(model.optimizer.iterations), 1)

  def test_spread_noise_is_seeded_by_model_seed_and_step(self):
    first, second = _make_tiny_model(), _make_tiny_model()
    loss = first.train_step(self.images)['loss']
    self.assertAllClose(loss, second.train_step(self.images)['loss'])
    other_seed = _make_tiny_model(seed=1)
    self.assertNotAllClose(loss, other_seed.train_step(self.images)['loss'])
    # Same weights, later step: the step seed folds in optimizer.iterations.
    later = _make_tiny_model()
    later.optimizer.iterations.assign(5)
    self.assertNotAllClose(loss, later.train_step(self.images)['loss'])

  def test_low_variance_scores_reconstruction_at_clean_data(self):
    """With the spread switched to the clean x, the objective is log K(x - g(z)) - KL."""
    model = _make_tiny_model(low_variance=True)
    terms = model.per_example_terms(self.images, tf.constant([3, 4]))
    self.assertEqual(terms['loss'].shape, [32])
    # The objective differs from the reported spread ELBO (scored at y): the data term is higher.
    self.assertAllGreater(-terms['loss'] - terms['elbo'], 0.)

  def _unspread_reconstruction(self, model, seed):
    """E_q log K(x - g(z)) with q(z | x) from the clean x: the baseline's reconstruction term."""
    _, z_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    mean, log_std = model.encode(self.images)
    eps = tf.random.stateless_normal(mean.shape, seed=z_seed)
    decoded = model.decode(mean + tf.exp(log_std) * eps)
    return model.spread.at(decoded, event_ndims=3).log_prob(self.images)

  def test_vae_baseline_scores_clean_data_with_observation_noise(self):
    seed = tf.constant([1, 2])
    baseline = _make_tiny_model(spread_data=False)
    terms = baseline.per_example_terms(self.images, seed)
    self.assertAllClose(terms['reconstruction'], self._unspread_reconstruction(baseline, seed),
                        rtol=1e-5)
    # The delta-VAE spreads x first: its term differs from the unspread one.
    delta = _make_tiny_model()
    self.assertNotAllClose(delta.per_example_terms(self.images, seed)['reconstruction'],
                           self._unspread_reconstruction(delta, seed), rtol=1e-3)

  def test_kl_matches_tfp(self):
    mean = tf.random.stateless_normal([5, 3], seed=[1, 2])
    log_std = 0.3 * tf.random.stateless_normal([5, 3], seed=[3, 4])
    expected = tfd.kl_divergence(tfd.MultivariateNormalDiag(mean, tf.exp(log_std)),
                                 tfd.MultivariateNormalDiag(tf.zeros([3]), tf.ones([3])))
    self.assertAllClose(spread_vae.gaussian_kl(mean, log_std), expected, rtol=1e-5)

  def test_sample_and_decode_are_seeded(self):
    model = _make_tiny_model()
    samples = model.sample(6, seed=tf.constant([7, 8]))
    self.assertEqual(samples.shape, (6,) + _IMAGE_SHAPE)
    self.assertAllClose(samples, model.sample(6, seed=tf.constant([7, 8])))
    z = tf.random.stateless_normal([6, 4], seed=[7, 8])
    self.assertAllClose(samples, model.decode(z))
    self.assertAllInRange(samples, 0., 1.)

  @parameterized.named_parameters(
      ('low_rank', lambda: lowrank.LowRankGaussianSpread(0.1, rank=2, event_size=784,
                                                         event_ndims=3, seed=0)),
      ('injective', lambda: injective.InjectiveSpread(
          kernels.GaussianSpread(0.1), event_shape=[28, 28, 1], hidden_channels=4,
          num_layers=2, seed=0)))
  def test_learned_spread_drops_in(self, spread_fn):
    for low_variance in (False, True):
      model = _make_tiny_model(spread_fn=spread_fn, low_variance=low_variance)
      spread_variables = {id(v) for v in model.spread.trainable_variables}
      self.assertNotEmpty(spread_variables)
      self.assertEmpty(spread_variables & {id(v) for v in model.trainable_variables})
      before = [v.numpy() for v in model.spread.trainable_variables]
      logs = tf.function(model.train_step)(self.images)
      self.assertTrue(np.isfinite(logs['loss']))
      for old, new in zip(before, model.spread.trainable_variables, strict=True):
        self.assertAllEqual(old, new)  # The model step leaves the spread to its own optimizer.

  def test_spread_that_is_not_a_spread_kernel_raises_type_error(self):

    class DuckTypedSpread(tf.Module):
      """The methods SpreadVAE calls, without the SpreadKernel interface."""
      dtype = tf.float32
      at = sample_spread = spread_mean = staticmethod(lambda *args, **kwargs: None)

    with self.assertRaisesRegex(TypeError, r'`spread` must be a spreadtf.SpreadKernel, got '
                                r'DuckTypedSpread\. .* implement at, batch_shape_at, dtype, '
                                'is_valid_spread, sample_spread, spread_mean'):
      _make_tiny_model(spread_fn=DuckTypedSpread)

  def test_checkpoint_holds_spread_kernel(self):
    model = _make_tiny_model(spread_fn=lambda: kernels.GaussianSpread(tf.Variable(0.3)))
    checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer, spread=model.spread)
    path = checkpoint.save(self.create_tempdir().full_path + '/ckpt')
    names = [name for name, _ in tf.train.list_variables(path)]
    self.assertIn('spread/_scale/.ATTRIBUTES/VARIABLE_VALUE', names)


class DeltaLikelihoodTest(tf.test.TestCase, parameterized.TestCase):
  """The deterministic decoder trains under the spread, while its delta likelihood is degenerate."""

  def setUp(self):
    super().setUp()
    gin.clear_config()
    self.addCleanup(gin.clear_config)

  def test_spread_trains_where_delta_likelihood_diverges(self):
    images = tf.constant(fake.make_images(32, _IMAGE_SHAPE))
    model = _make_tiny_model()
    losses = _train(model, images, 50)
    self.assertTrue(np.all(np.isfinite(losses)))
    self.assertLess(losses[-5:].mean(), 0.8 * losses[:5].mean())

    # The same trained decoder without a spread: a Gaussian observation model with scale s -> 0
    # tends to the delta likelihood. Its log-likelihood runs off to -inf like -1/s^2, so maximum
    # likelihood has nothing to maximise; the spread ELBO stays finite.
    mean, _ = model.encode(images)
    decoded = model.decode(mean)
    scales = [1e-1, 1e-2, 1e-3, 1e-4]
    log_likelihoods = [
        float(tf.reduce_mean(kernels.GaussianSpread(s).at(decoded, event_ndims=3)
                             .log_prob(images))) for s in scales]
    self.assertTrue(np.all(np.diff(log_likelihoods) < 0.), log_likelihoods)
    self.assertLess(log_likelihoods[-1], -1e6)
    # -1/s^2 behaviour: each factor 10 in s multiplies the log-likelihood by about 100.
    self.assertAllClose(log_likelihoods[-1] / log_likelihoods[-2], 100., rtol=0.05)
    spread_elbo = model.per_example_terms(images, tf.constant([0, 1]))['elbo']
    self.assertTrue(np.all(np.isfinite(spread_elbo)))
    self.assertGreater(float(tf.reduce_mean(spread_elbo)), log_likelihoods[1])


if __name__ == '__main__':
  tf.test.main()
