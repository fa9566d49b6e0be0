"""Sharpness of images in pixel space: the variance of their Laplacian.

The paper's qualitative claims about samples (delta-VAE samples sharper than a VAE's; Laplace
spread sharper than Gaussian) are about edges, which FD and precision/recall in a classifier's
feature space do not isolate. The variance of the discrete Laplacian is the classic focus / blur
measure (Pech-Pacheco et al. 2000): blurring lowers it, noise raises it, so read it next to the
same number of real images (`evaluate` reports both).

    sharpness.laplacian_variance(images)   # images [num, height, width, channels] in [0, 1]

#### References

[1] J. L. Pech-Pacheco, G. Cristobal, J. Chamorro-Martinez, J. Fernandez-Valdivia. Diatom
    autofocusing in brightfield microscopy: a comparative study. ICPR 2000.
"""

import numpy as np

__all__ = ['laplacian', 'laplacian_variance']


def laplacian(images):
  """The 4-neighbour discrete Laplacian of each image and channel, on the interior pixels.

  Args:
    images: `[num, height, width, channels]`, height and width at least 3.

  Returns:
    float64 `[num, height - 2, width - 2, channels]`:
    x[i-1, j] + x[i+1, j] + x[i, j-1] + x[i, j+1] - 4 x[i, j].

  Raises:
    ValueError: for another rank or images smaller than 3x3.
  """
  x = np.asarray(images, np.float64)
  if x.ndim != 4 or x.shape[1] < 3 or x.shape[2] < 3:
    raise ValueError(f'images must be [num, height >= 3, width >= 3, channels], got {x.shape}.')
  return (x[:, :-2, 1:-1] + x[:, 2:, 1:-1] + x[:, 1:-1, :-2] + x[:, 1:-1, 2:]
          - 4. * x[:, 1:-1, 1:-1])


def laplacian_variance(images):
  """Mean over images and channels of the variance of the Laplacian (higher: sharper).

  Args:
    images: `[num, height, width, channels]` in [0, 1].

  Returns:
    A Python float.
  """
  return float(np.mean(np.var(laplacian(images), axis=(1, 2))))
