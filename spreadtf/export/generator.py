"""Exports the generator g(z) as a SavedModel a fresh process can use with TensorFlow alone.

Endpoints (tensors in, a dict of tensors out, no TFP objects):
  * `decode(z)` (also the `serving_default` signature): z `[batch, latent_dim]` float32 ->
    `{'images': [batch, height, width, channels] float32 in [0, 1]}`;
  * `sample(num, seed)`: num scalar int32, seed int32 `[2]` (stateless) ->
    `{'images': [num, height, width, channels]}`, z ~ N(0, I), no noise added.

Only the decoder is tracked: no encoder, optimizer or spread kernel goes into the SavedModel.

The export is written to a temporary directory beside `path` and then swapped in (the old
export renamed aside, the new one renamed to `path`, the old one deleted), so a reader or a
process killed mid-export never meets a half-written SavedModel at `path`: it finds the old
export, the new one, or (for the instant between the two renames) none.

    loaded = tf.saved_model.load(path)
    images = loaded.decode(tf.zeros([4, 100]))['images']
    images = loaded.sample(tf.constant(64), tf.constant([0, 0]))['images']
"""

import tensorflow as tf

from spreadtf import files

__all__ = ['Generator', 'export_generator']


class Generator(tf.Module):
  """A `tf.Module` around a Keras decoder with tensor-only `decode` and `sample` methods."""

  def __init__(self, decoder, name='generator'):
    """Wraps `decoder`, a Keras model `[batch, latent_dim] -> [batch, height, width, channels]`."""
    super().__init__(name=name)
    self.decoder = decoder
    self.latent_dim = int(decoder.inputs[0].shape[-1])
    spec = tf.TensorSpec([None, self.latent_dim], tf.float32, name='z')
    self.decode = tf.function(self._decode, input_signature=[spec])
    self.sample = tf.function(self._sample, input_signature=[
        tf.TensorSpec([], tf.int32, name='num'), tf.TensorSpec([2], tf.int32, name='seed')])

  def _decode(self, z):
    return {'images': tf.cast(self.decoder(z, training=False), tf.float32)}

  def _sample(self, num, seed):
    return self._decode(tf.random.stateless_normal([num, self.latent_dim], seed=seed))


def export_generator(decoder, path):
  """Saves `decoder` as a SavedModel at `path` (see the module docstring for the endpoints).

  Args:
    decoder: Keras decoder (e.g. `SpreadVAE.decoder`), built.
    path: output directory; an existing export there is replaced only once the new one is
      complete.

  Returns:
    `path`.

  Raises:
    OSError: naming `path` if it cannot be written (e.g. a file is in the way, or its parent is
      not writable); an existing export is left in place.
  """
  module = Generator(decoder)
  return files.save_model(module, path, signatures={
      'serving_default': module.decode, 'sample': module.sample}, what='the generator export')
