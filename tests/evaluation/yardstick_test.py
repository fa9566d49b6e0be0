"""Tests of the cross-family yardstick: parsing, the shared draw, the closed form, the fields."""

import hashlib
from unittest import mock

from absl.testing import parameterized
import numpy as np
from scipy import stats
import tensorflow as tf

import spreadtf
from spreadtf.evaluation import ais
from spreadtf.evaluation import likelihood
from spreadtf.evaluation import spread_likelihood
from spreadtf.evaluation import yardstick
from tests import testing

_NOISE = 0.5     # the VAE baseline's observation noise s_v
_KERNEL = 0.3    # the yardstick's scale s


class ParseTest(tf.test.TestCase, parameterized.TestCase):

  def test_comma_separated_and_repeated_entries_in_order(self):
    expected = (yardstick.Yardstick('gaussian', 0.3), yardstick.Yardstick('laplace', 0.2))
    self.assertEqual(yardstick.parse('gaussian:0.3,laplace:0.2'), expected)
    self.assertEqual(yardstick.parse(['gaussian:0.3', ' Laplace : 0.20 ']), expected)
    self.assertEqual(yardstick.parse(['gaussian:0.3,', '']), expected[:1])
    self.assertEqual(yardstick.parse(()), ())

  def test_keys_specs_and_kernels(self):
    gaussian, laplace = yardstick.parse('gaussian:0.30,laplace:2e-1')
    self.assertEqual((gaussian.spec, gaussian.key, gaussian.title),
                     ('gaussian:0.3', 'yardstick_gaussian_0.3', 'Gaussian 0.3'))
    self.assertEqual(laplace.key, 'yardstick_laplace_0.2')
    self.assertIsInstance(gaussian.kernel(), spreadtf.GaussianSpread)
    self.assertIsInstance(laplace.kernel(), spreadtf.LaplaceSpread)
    self.assertAllClose(laplace.kernel().scale, 0.2)
    keys = yardstick.metric_keys('gaussian:0.3,laplace:0.2')
    self.assertEqual(keys, ['yardstick_gaussian_0.3_iw', 'yardstick_gaussian_0.3_ais',
                            'yardstick_laplace_0.2_iw', 'yardstick_laplace_0.2_ais'])
    for key in keys:
      self.assertIsNotNone(yardstick.METRIC_KEY.match(key), key)
    self.assertIsNone(yardstick.METRIC_KEY.match('yardstick_gaussian_0.3_iw_stderr'))

  @parameterized.parameters('cauchy:0.3', 'gaussian', 'gaussian:0', 'gaussian:-1',
                            'gaussian:nan', 'gaussian:big', 'gaussian:inf')
  def test_a_bad_entry_is_named(self, bad):
    with self.assertRaisesRegex(ValueError, f"cannot read yardstick '{bad}'.*family:scale"):
      yardstick.parse(f'laplace:0.2,{bad}')

  def test_the_same_kernel_twice_is_refused(self):
    with self.assertRaisesRegex(ValueError, 'yardstick_gaussian_0.3.*more than once'):
      yardstick.parse('gaussian:0.3,gaussian:0.30')

  def test_needs_iw_or_ais(self):
    with self.assertRaisesRegex(ValueError, 'num_importance_samples > 0 or ais_steps > 0'):
      yardstick.check('gaussian:0.3', 0, 0)
    self.assertLen(yardstick.check('gaussian:0.3', 0, 10), 1)
    self.assertEqual(yardstick.check((), 0, 0), ())


class ScoreTest(tf.test.TestCase):

  def test_different_models_are_scored_on_the_same_draws(self):
    # A delta-VAE with its own kernel (Gaussian 0.5) and a VAE baseline: the y each estimator
    # receives is recorded and compared directly, and is the draw of the kernel alone.
    delta, _, _, _ = testing.linear_gaussian_vae(scale=0.5, shift=0.2)
    vae, _, _, _ = testing.linear_gaussian_vae(spread_data=False, scale=_NOISE)
    images = testing.linear_images(30)
    seed = tf.constant([3, 7])
    seen = []
    original = spread_likelihood.spread_log_likelihood_of

    def recording(model, observed, *args, **kwargs):
      seen.append(np.array(observed))
      return original(model, observed, *args, **kwargs)

    yardsticks = yardstick.parse('gaussian:0.3')
    with mock.patch.object(spread_likelihood, 'spread_log_likelihood_of', recording):
      first = yardstick.score(delta, images, yardsticks, seed, num_samples=4)
      second = yardstick.score(vae, images, yardsticks, seed, num_samples=4)
    self.assertLen(seen, 2)
    direct = likelihood.draw_spread(spreadtf.GaussianSpread(_KERNEL), images, seed)
    self.assertAllEqual(seen[0], direct)
    self.assertAllEqual(seen[1], direct)
    sha = hashlib.sha256(direct.tobytes()).hexdigest()
    self.assertEqual(first.fields['yardstick_gaussian_0.3_draws_sha256'], sha)
    self.assertEqual(second.fields['yardstick_gaussian_0.3_draws_sha256'], sha)
    # Another seed, other draws; the models' own scores differ on the same draws.
    other = yardstick.score(delta, images, yardsticks, tf.constant([3, 8]), num_samples=4)
    self.assertNotEqual(other.fields['yardstick_gaussian_0.3_draws_sha256'], sha)
    self.assertNotEqual(first.fields['yardstick_gaussian_0.3_iw'],
                        second.fields['yardstick_gaussian_0.3_iw'])

  def test_a_gaussian_vae_under_a_gaussian_kernel_matches_the_closed_form(self):
    # The linear VAE with noise s_v spread by a Gaussian kernel s is N(y | b, W W^T +
    # (s_v^2 + s^2) I) exactly (tests/evaluation/spread_likelihood_test.py checks it against a
    # Monte Carlo spread of the model).
    model, _, w, b = testing.linear_gaussian_vae(spread_data=False, scale=_NOISE)
    images = testing.linear_images(300)
    seed = tf.constant([2, 5])
    out = yardstick.score(model, images, yardstick.parse('gaussian:0.3'), seed,
                          num_samples=1000)
    observed = yardstick.draws(yardstick.Yardstick('gaussian', _KERNEL), images, seed)
    exact = stats.multivariate_normal(b, w @ w.T + (_NOISE ** 2 + _KERNEL ** 2) * np.eye(4))
    values = out.per_image['yardstick_gaussian_0.3_iw']
    self.assertAllClose(values.mean(), out.fields['yardstick_gaussian_0.3_iw'])
    errors = values - exact.logpdf(observed.reshape(300, 4))
    # The encoder is the exact posterior of the clean-data model, a broader one than under the
    # spread, so IW with K = 1,000 is near exact: within 4 standard errors plus 0.02 nats (as in
    # spread_likelihood_test).
    self.assertNear(errors.mean(), 0., 4. * errors.std(ddof=1) / np.sqrt(300) + 0.02)
    self.assertEqual(out.fields['yardstick_gaussian_0.3_decoder'], 'GaussianSpread 0.5831')
    self.assertIsNone(out.fields['yardstick_gaussian_0.3_reason'])
    self.assertEqual(out.fields['yardstick_gaussian_0.3_iw_num_images'], 300)

  def test_a_delta_vae_under_its_own_kernel_scores_its_own_likelihoods(self):
    model, _, _, _ = testing.linear_gaussian_vae(scale=0.3, shift=0.3)
    images = testing.linear_images(12)
    seed = tf.constant([1, 1])
    ais_settings = dict(num_steps=3, num_chains=2, num_leapfrog_steps=2)
    out = yardstick.score(model, images, yardstick.parse('gaussian:0.3'), seed, num_samples=8,
                          ais_settings=ais_settings, max_ais_images=5)
    own_iw = likelihood.importance_weighted_log_likelihood(model, images, 8, seed)
    self.assertAllEqual(out.per_image['yardstick_gaussian_0.3_iw'], own_iw['per_example'])
    own_ais = ais.ais_log_likelihood(model, images[:5], seed, **ais_settings)
    self.assertAllEqual(out.per_image['yardstick_gaussian_0.3_ais'], own_ais['per_example'])
    self.assertEqual(out.fields['yardstick_gaussian_0.3_ais_num_images'], 5)
    self.assertEqual(set(out.seconds), {'yardstick_gaussian_0.3_draws',
                                        'yardstick_gaussian_0.3_iw', 'yardstick_gaussian_0.3_ais'})
    self.assertTrue(yardstick.is_own_kernel(model, yardstick.Yardstick('gaussian', 0.3)))
    # So the run's own values, handed in, are used as they are: the same fields, nothing run.
    reused = yardstick.score(model, images, yardstick.parse('gaussian:0.3,laplace:0.2'), seed,
                             num_samples=8, ais_settings=ais_settings, max_ais_images=5,
                             own={'iw': own_iw['per_example'], 'ais': own_ais['per_example']})
    for key in ('iw', 'iw_stderr', 'ais', 'ais_stderr', 'decoder', 'draws_sha256'):
      self.assertEqual(reused.fields[f'yardstick_gaussian_0.3_{key}'],
                       out.fields[f'yardstick_gaussian_0.3_{key}'], key)
    self.assertEqual((reused.fields['yardstick_gaussian_0.3_is_own_kernel'],
                      out.fields['yardstick_gaussian_0.3_is_own_kernel']), (True, False))
    self.assertFalse(reused.fields['yardstick_laplace_0.2_is_own_kernel'])
    self.assertEqual(set(reused.seconds), {
        'yardstick_gaussian_0.3_draws', 'yardstick_laplace_0.2_draws', 'yardstick_laplace_0.2_iw',
        'yardstick_laplace_0.2_ais'})

  def test_own_kernel_means_a_delta_vae_with_that_fixed_kernel(self):
    delta, _, _, _ = testing.linear_gaussian_vae(scale=0.3)
    vae, _, _, _ = testing.linear_gaussian_vae(spread_data=False, scale=0.3)
    gaussian = yardstick.Yardstick('gaussian', 0.3)
    self.assertTrue(yardstick.is_own_kernel(delta, gaussian))
    self.assertFalse(yardstick.is_own_kernel(delta, yardstick.Yardstick('gaussian', 0.31)))
    self.assertFalse(yardstick.is_own_kernel(delta, yardstick.Yardstick('laplace', 0.3)))
    self.assertFalse(yardstick.is_own_kernel(vae, gaussian))   # its noise is not a spread

  def test_no_closed_form_leaves_the_values_empty_with_the_reason(self):
    model, _, _, _ = testing.linear_gaussian_vae(spread_data=False, scale=_NOISE)
    out = yardstick.score(model, testing.linear_images(4), yardstick.parse('laplace:0.2'),
                          tf.constant([0, 0]), num_samples=4,
                          ais_settings=dict(num_steps=2, num_chains=2))
    key = 'yardstick_laplace_0.2'
    for suffix in ('_iw', '_iw_stderr', '_ais', '_ais_stderr', '_decoder'):
      self.assertIsNone(out.fields[key + suffix], suffix)
    self.assertRegex(out.fields[key + '_reason'], 'no closed form for a VAE with GaussianSpread '
                     '0.5 observation noise under a LaplaceSpread 0.2 kernel')
    self.assertEqual((out.per_image, out.seconds), ({}, {}))   # nothing ran


if __name__ == '__main__':
  tf.test.main()
