"""tf.data pipelines of images `[global_batch, height, width, channels]` float32 in [0, 1].

Every dataset factory has the signature `fn(split, global_batch_size, seed, repeat=True,
**config)` with `split` in `('train', 'validation', 'test')` (three disjoint splits: fit, select,
report; any other name is a ValueError listing them), so the training root (repeated batches)
and the evaluation (`repeat=False`: a held-out split once) can call any of them; gin binds the
rest. Modules: `pipeline` (shared steps), `mnist5k` (offline real digits), `tfds_images` (TFDS
mnist / celeb_a), `folder` (a folder of jpg/png), `arrays` (an `.npz` file, sklearn digits),
`fake` (in-memory smoke data).
"""

__all__ = []
