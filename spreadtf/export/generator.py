"""Exports the generator g(z) as a SavedModel a fresh process can use with TensorFlow alone.

Endpoints (tensors in, a dict of tensors out, no TFP objects):
  * `decode(z)` (also the `serving_default` signature): z `[batch, latent_dim]` float32 ->
    `{'images': [batch, height, width, channels] float32 in [0, 1]}`;
  * `sample(num, seed)`: num scalar int32, seed int32 `[2]` (stateless) ->
    `{'images': [num, height, width, channels]}`, z ~ N(0, I), no noise added.

Only the decoder's variables are tracked: no encoder, optimizer or spread kernel goes into the
SavedModel. It runs under `tf.saved_model.load` and under the session-based loading of
`saved_model_cli run` (the path TF Serving's C++ loader takes); docs/serving.md shows both.

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
  """A `tf.Module` around a Keras decoder with tensor-only `decode` and `sample` methods.

  The module tracks the `tf.Variable`s its two functions read (`decoder_variables`), not the
  Keras decoder. A Keras 3 `keras.Variable` exports as a copy of the `tf.Variable` inside it:
  tracking the decoder would write a graph whose restore op fills the copies while the
  signatures read the originals, which only `tf.saved_model.load` (it rebinds captures through
  the object graph) gets right; a session-based loader (`saved_model_cli run`, TF Serving)
  would fail with `Could not find variable ...`. With the captured variables tracked, the
  restore op and the signatures name the same variables, each saved once.
  """

  def __init__(self, decoder, name='generator'):
    """Wraps `decoder`, a Keras model `[batch, latent_dim] -> [batch, height, width, channels]`."""
    super().__init__(name=name)
    latent_dim = int(decoder.inputs[0].shape[-1])
    self.latent_dim = latent_dim

    def decode(z):
      return {'images': tf.cast(decoder(z, training=False), tf.float32)}

    def sample(num, seed):
      return decode(tf.random.stateless_normal([num, latent_dim], seed=seed))

    self.decode = tf.function(decode, input_signature=[
        tf.TensorSpec([None, latent_dim], tf.float32, name='z')])
    self.sample = tf.function(sample, input_signature=[
        tf.TensorSpec([], tf.int32, name='num'), tf.TensorSpec([2], tf.int32, name='seed')])
    self.decoder_variables = _captured_variables(self.decode, self.sample)


def _captured_variables(*functions):
  """The `tf.Variable`s the traced `functions` read, each once, in first-use order."""
  found = {}
  for function in functions:
    for variable in function.get_concrete_function().variables:
      found.setdefault(id(variable), variable)
  return list(found.values())


def export_generator(decoder, path, extra_files=None):
  """Saves `decoder` as a SavedModel at `path` (see the module docstring for the endpoints).

  Args:
    decoder: Keras decoder (e.g. `SpreadVAE.decoder`), built.
    path: output directory; an existing export there is replaced only once the new one is
      complete.
    extra_files: None, or `{name: bytes or str}` written into the export with it, e.g. the
      training root's note of the step and checkpoint exported.

  Returns:
    `path`.

  Raises:
    OSError: naming `path` if it cannot be written (e.g. a file is in the way, or its parent is
      not writable); an existing export is left in place.
  """
  module = Generator(decoder)
  return files.save_model(module, path, signatures={
      'serving_default': module.decode, 'sample': module.sample}, what='the generator export',
      extra_files=extra_files)
