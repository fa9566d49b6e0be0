"""Tests of the eval.json likelihood fields: IW sweep, AIS, BDMC and the dequantised baseline."""

import json

import numpy as np
import tensorflow as tf

from spreadtf import files
from spreadtf.evaluation import ais
from spreadtf.evaluation import likelihood
from spreadtf.evaluation import likelihood_bounds
from tests import testing


class LikelihoodFieldsTest(tf.test.TestCase):

  def test_all_fields_on_the_same_spread_draws_and_json_ready(self):
    model, _, _, _ = testing.linear_gaussian_vae(scale=0.5, shift=0.4)
    images = testing.linear_images(12)
    seed = tf.constant([5, 5])
    fields = likelihood_bounds.likelihood_fields(
        model, images, seed, iw_sweep=(1, 10), ais_steps=5, ais_chains=3, max_ais_images=10,
        bdmc=True, dequantized_samples=10)
    self.assertEqual([row['num_samples'] for row in fields['iw_sweep']], [1, 10])
    self.assertEqual(fields['iw_sweep_elbo'], likelihood.spread_elbo(model, images, seed)['mean'])
    self.assertEqual((fields['ais_num_images'], fields['ais_num_steps'], fields['ais_num_chains'],
                      fields['ais_initial'], fields['bdmc_num_images']), (10, 5, 3, 'encoder', 10))
    # AIS scores the same spread draws as the ELBO and the sweep (the same seed's y).
    self.assertEqual(fields['ais_log_likelihood'], ais.ais_log_likelihood(
        model, images[:10], seed, num_steps=5, num_chains=3)['mean'])
    self.assertAllClose(fields['ais_bits_per_dim'],
                        -fields['ais_log_likelihood'] / (4. * np.log(2.)))
    self.assertNear(fields['bdmc_gap'], fields['bdmc_upper'] - fields['bdmc_lower'], 1e-9)
    self.assertNotIn('dequantized_bits_per_dim', fields)     # a delta-VAE: no clean density
    written = json.loads(json.dumps(files.json_ready(fields)))
    self.assertEqual(set(written), set(fields))

  def test_a_vae_baseline_gets_its_dequantised_likelihood_and_nothing_else_unasked(self):
    model, _, _, _ = testing.linear_gaussian_vae(spread_data=False, scale=0.5)
    images = (np.random.RandomState(0).randint(0, 256, (6, 2, 2, 1)) / 255.).astype(np.float32)
    fields = likelihood_bounds.likelihood_fields(model, images, tf.constant([0, 1]),
                                                 dequantized_samples=5)
    self.assertEqual(set(fields), {'dequantized_bits_per_dim', 'dequantized_bits_per_dim_stderr',
                                   'dequantized_log_likelihood', 'dequantized_num_samples'})
    self.assertEqual(likelihood_bounds.likelihood_fields(model, images, tf.constant([0, 1])), {})

  def test_bdmc_needs_ais(self):
    model, _, _, _ = testing.linear_gaussian_vae(scale=0.5)
    with self.assertRaisesRegex(ValueError, 'ais_steps'):
      likelihood_bounds.likelihood_fields(model, testing.linear_images(2), tf.constant([0, 0]),
                                          bdmc=True)


if __name__ == '__main__':
  tf.test.main()
