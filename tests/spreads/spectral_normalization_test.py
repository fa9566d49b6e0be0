"""Tests for spectral normalisation and its Lipschitz bounds (spectral_normalization.py)."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from spreadtf.spreads import spectral_normalization


def _random(shape, seed):
  return tf.random.stateless_normal(shape, seed=[seed, 0])


def _reshaped_svd(kernel):
  return np.linalg.svd(np.reshape(np.asarray(kernel), [-1, kernel.shape[-1]]))


def _dense_conv_matrix(kernel, height, width):
  """The `[H W C_in, H W C_out]` matrix of conv2d (SAME, stride 1) on `[height, width, C_in]`."""
  c_in = kernel.shape[2]
  basis = tf.reshape(tf.eye(height * width * c_in), [-1, height, width, c_in])
  return tf.reshape(tf.nn.conv2d(basis, kernel, strides=1, padding='SAME'),
                    [height * width * c_in, -1]).numpy()


class SpectralNormalizationTest(tf.test.TestCase, parameterized.TestCase):

  def test_power_iteration_approaches_the_spectral_norm_from_below(self):
    matrix = _random([20, 7], 1)
    top = np.linalg.svd(matrix.numpy(), compute_uv=False)[0]
    u = tf.math.l2_normalize(_random([7], 2))
    few, _ = spectral_normalization.power_iteration(matrix, u, 1)
    many, _ = spectral_normalization.power_iteration(matrix, u, 200)
    self.assertLessEqual(few, top * (1. + 1e-6))   # float32 rounding only
    # The error shrinks by (sigma_2 / sigma_1)^2 per step: 200 steps reach float32 precision for
    # any gap above 5%; this matrix's is larger.
    self.assertAllClose(many, top, rtol=1e-5)

  def test_gradient_treats_the_power_vectors_as_constants(self):
    # sigma_hat = v^T W u with u, v constants has gradient v u^T: at convergence the top singular
    # pair's outer product (Miyato et al.), not the gradient of u and v's dependence on W.
    matrix = _random([6, 4], 3)
    u = tf.math.l2_normalize(_random([4], 4))
    with tf.GradientTape() as tape:
      tape.watch(matrix)
      sigma, _ = spectral_normalization.power_iteration(matrix, u, 300)
    left, _, right = np.linalg.svd(matrix.numpy())
    self.assertAllClose(tape.gradient(sigma, matrix), np.outer(left[:, 0], right[0]), atol=1e-5)

  @parameterized.named_parameters(
      ('conv', [3, 3, 4, 5]), ('dense', [6, 5]))
  def test_normalize_sets_the_reshaped_norm_to_the_target(self, shape):
    kernel = _random(shape, 5)
    u = spectral_normalization.converged_power_vector(kernel, seed=[6, 0])
    _, singular_values, right = _reshaped_svd(kernel)
    self.assertAllClose(abs(np.dot(u, right[0])), 1., atol=1e-4)   # the top right vector
    normalized, refined = spectral_normalization.normalize(kernel, u, target=0.1, iterations=10)
    self.assertEqual(normalized.shape, shape)
    self.assertAllClose(_reshaped_svd(normalized)[1][0], 0.1, rtol=1e-4)
    self.assertAllClose(tf.norm(refined), 1.)
    sigma, _ = spectral_normalization.estimate_spectral_norm(kernel, u, 10)
    self.assertAllClose(sigma, singular_values[0], rtol=1e-4)

  def test_lipschitz_upper_bound_is_the_product_of_k_times_the_reshaped_norms(self):
    stack = [_random([3, 3, 2, 4], 7), _random([3, 3, 4, 2], 8)]
    want = np.prod([3. * _reshaped_svd(kernel)[1][0] for kernel in stack])
    self.assertAllClose(spectral_normalization.lipschitz_upper_bound(stack, kernel_size=3), want,
                        rtol=1e-5)

  def test_operator_norms_match_dense_matrices_and_respect_the_k_bound(self):
    stack = [_random([3, 3, 2, 3], 9), _random([3, 3, 3, 3], 10), _random([3, 3, 3, 2], 11)]
    # 300 steps: converged to the 1e-3 asked of them (the conv operators' top singular gaps are
    # wide here); the dense matrices' SVDs are exact.
    norms = spectral_normalization.layer_operator_norms(stack, [4, 4], iterations=300)
    for norm, kernel in zip(norms.numpy(), stack, strict=True):
      exact = np.linalg.svd(_dense_conv_matrix(kernel, 4, 4), compute_uv=False)[0]
      self.assertAllClose(exact, norm, rtol=1e-3)
      self.assertLessEqual(norm, 3. * _reshaped_svd(kernel)[1][0])   # ||A|| <= k ||W_r||
    dense = [_random([5, 3], 12)]
    self.assertAllClose(spectral_normalization.layer_operator_norms(dense),
                        [_reshaped_svd(dense[0])[1][0]], rtol=1e-5)


if __name__ == '__main__':
  tf.test.main()
