"""Known defects applied to real images, to calibrate the sample-quality metrics.

Each function takes images `[num, height, width, channels]` in [0, 1] and returns a degraded copy
of the same shape in [0, 1] (float32), or a subset. `spreadtf.evaluation.calibration` scores them
against held-out images to show what each metric catches: a metric that scores blurred digits
like real ones cannot tell a blurry generator from a good one.

    degradations.gaussian_blur(images, sigma=1.)          # Gaussian blur, std in pixels
    degradations.box_blur(images, size=3)                 # mean over a size x size window
    degradations.add_noise(images, scale=0.1, seed=0)     # + N(0, scale^2), clipped to [0, 1]
    degradations.shift(images, pixels=1, seed=0)          # each image moved up, down, left or right
    degradations.keep_classes(images, labels, range(5))   # mode dropping: only these classes

Borders are zero (black), as around MNIST digits: blurring and shifting never wrap around.
"""

import numpy as np
from scipy import ndimage

__all__ = ['gaussian_blur', 'box_blur', 'add_noise', 'shift', 'keep_classes']


def _as_images(images):
  images = np.asarray(images, np.float32)
  if images.ndim != 4:
    raise ValueError(f'images must be [num, height, width, channels], got shape {images.shape}.')
  return images


def gaussian_blur(images, sigma):
  """Each image and channel convolved with a Gaussian of standard deviation `sigma` pixels.

  Args:
    images: `[num, height, width, channels]` in [0, 1].
    sigma: the blur's standard deviation in pixels, > 0 (truncated at 4 sigma; zero outside).

  Returns:
    float32, the shape of `images`, in [0, 1] (a weighted mean of values in [0, 1]).

  Raises:
    ValueError: for another rank or `sigma <= 0`.
  """
  images = _as_images(images)
  if not sigma > 0:
    raise ValueError(f'sigma must be > 0, got {sigma}.')
  return ndimage.gaussian_filter(images, (0, sigma, sigma, 0), mode='constant').astype(np.float32)


def box_blur(images, size=3):
  """Each pixel replaced by the mean of the `size` x `size` window around it (zero outside).

  Args:
    images: `[num, height, width, channels]` in [0, 1].
    size: odd window width, >= 3.

  Returns:
    float32, the shape of `images`, in [0, 1].

  Raises:
    ValueError: for another rank or an even or too small `size`.
  """
  images = _as_images(images)
  if size < 3 or size % 2 != 1:
    raise ValueError(f'size must be odd and >= 3, got {size}.')
  return ndimage.uniform_filter(images, (1, size, size, 1), mode='constant').astype(np.float32)


def add_noise(images, scale, seed):
  """`images` plus independent N(0, scale^2) noise per pixel, clipped to [0, 1].

  Args:
    images: `[num, height, width, channels]` in [0, 1].
    scale: the noise's standard deviation, > 0.
    seed: seed of `numpy.random.RandomState`.

  Returns:
    float32, the shape of `images`, in [0, 1].

  Raises:
    ValueError: for another rank or `scale <= 0`.
  """
  images = _as_images(images)
  if not scale > 0:
    raise ValueError(f'scale must be > 0, got {scale}.')
  noise = np.random.RandomState(seed).normal(scale=scale, size=images.shape)
  return np.clip(images + noise, 0., 1.).astype(np.float32)


def shift(images, pixels, seed):
  """Each image moved by `pixels` up, down, left or right (one direction drawn per image).

  The pixels that move out are lost; the ones that come in are 0. The four directions are drawn
  uniformly and independently per image, so the set's mean image stays centred on average: the
  metrics see jitter, not a global offset.

  Args:
    images: `[num, height, width, channels]` in [0, 1].
    pixels: the shift, 1 <= pixels < min(height, width).
    seed: seed of `numpy.random.RandomState` for the directions.

  Returns:
    float32, the shape of `images`.

  Raises:
    ValueError: for another rank or a shift outside that range.
  """
  images = _as_images(images)
  if not 1 <= pixels < min(images.shape[1:3]):
    raise ValueError(f'pixels must lie in [1, {min(images.shape[1:3])}), got {pixels}.')
  directions = np.random.RandomState(seed).randint(4, size=len(images))
  shifted = np.zeros_like(images)
  for direction, (axis, step) in enumerate(((1, pixels), (1, -pixels), (2, pixels),
                                            (2, -pixels))):
    rows = directions == direction
    moved = np.roll(images[rows], step, axis=axis)
    edge = [slice(None)] * 4
    edge[axis] = slice(0, step) if step > 0 else slice(step, None)
    moved[tuple(edge)] = 0.
    shifted[rows] = moved
  return shifted


def keep_classes(images, labels, classes):
  """The images whose label is in `classes`, in their order (mode dropping).

  Args:
    images: `[num, height, width, channels]`.
    labels: int `[num]`.
    classes: the labels to keep.

  Returns:
    `[num_kept, height, width, channels]` float32.

  Raises:
    ValueError: if the labels do not match the images or no image is kept.
  """
  images = _as_images(images)
  labels = np.asarray(labels)
  if labels.shape != images.shape[:1]:
    raise ValueError(f'labels must be [num] = [{len(images)}], got shape {labels.shape}.')
  kept = np.isin(labels, list(classes))
  if not kept.any():
    raise ValueError(f'no image has a label in {list(classes)}.')
  return images[kept]
