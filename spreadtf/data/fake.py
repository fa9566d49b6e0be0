"""In-memory fake images for smoke runs and tests: no files, no download.

The images lie on a smooth two-dimensional manifold, x = sigmoid(W z) with z ~ N(0, I_2), so a
delta-VAE can actually fit them (and the delta likelihood of a decoder is degenerate on them).
"""

import gin
import numpy as np
import tensorflow as tf

from spreadtf.data import fingerprints
from spreadtf.data import pipeline

__all__ = ['make_images', 'fingerprint', 'make_fake_dataset']

# The random stream of each split's latent codes (train and test kept theirs when validation came).
_CODE_STREAMS = {'train': 1, 'test': 2, 'validation': 3}


def make_images(num_examples, image_shape, content_seed=0, split='train'):
  """Returns `[num_examples, *image_shape]` float32 NumPy images in (0, 1).

  Args:
    num_examples: number of images.
    image_shape: `(height, width, channels)`.
    content_seed: fixes the manifold W (shared by the three splits).
    split: 'train', 'validation' or 'test': each has its own latent codes z, drawn from its own
      random stream, so the splits share no image.

  Returns:
    float32 NumPy array `[num_examples, *image_shape]`.

  Raises:
    ValueError: on a bad split name.
  """
  pipeline.check_split(split)
  dim = int(np.prod(image_shape))
  weights = np.random.RandomState(content_seed).normal(size=(2, dim)) * 2.
  codes = np.random.RandomState([content_seed, _CODE_STREAMS[split]]).normal(
      size=(num_examples, 2))
  images = 1. / (1. + np.exp(-codes @ weights))
  return images.reshape((num_examples,) + tuple(image_shape)).astype(np.float32)


def fingerprint(split, *, image_shape, num_examples, content_seed):
  """What `make_fake_dataset(split, ...)` reads: its parameters (the images follow from them).

  Returns:
    `{'source', 'image_shape', 'num_examples', 'content_seed'}`.
  """
  pipeline.check_split(split)
  return {'source': 'fake images', 'image_shape': [int(d) for d in image_shape],
          'num_examples': int(num_examples), 'content_seed': int(content_seed)}


@gin.configurable(module='spreadtf.data.fake')
def make_fake_dataset(split, global_batch_size, seed, image_shape=(28, 28, 1), num_examples=64,
                      content_seed=0, repeat=True):
  """Fake image dataset with the same contract as the real ones.

  Args:
    split: 'train', 'validation' or 'test'.
    global_batch_size: batch over all replicas.
    seed: shuffle seed.
    image_shape: `(height, width, channels)`.
    num_examples: number of distinct images in each of the three splits.
    content_seed: seed of the image manifold.
    repeat: repeat forever (training); False gives the split once (evaluation).

  Returns:
    A `tf.data.Dataset` of `[global_batch_size, *image_shape]` float32 in (0, 1).
  """
  images = make_images(num_examples, image_shape, content_seed, split)
  dataset = pipeline.batch_images(tf.data.Dataset.from_tensor_slices(images), split,
                                  global_batch_size, seed, shuffle_buffer=num_examples,
                                  repeat=repeat)
  return fingerprints.record(dataset, fingerprint, split, image_shape=image_shape,
                             num_examples=num_examples, content_seed=content_seed)
