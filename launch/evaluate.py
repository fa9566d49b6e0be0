r"""Evaluates a training run: held-out likelihood and sample quality, written to eval.json.

  python launch/evaluate.py --workdir=runs/mnist5k/gaussian/seed=0
  python launch/evaluate.py --workdir=runs/celeba --num_importance_samples=100 \
      --max_likelihood_images=1000 --inception_weights=/weights/inception_v3_notop.h5
  python launch/evaluate.py --workdir=runs/mnist5k/gaussian/seed=0 --features=none \
      --ais_steps=300 --bdmc --iw_sweep=1,10,100,1000,5000
  python launch/evaluate.py --workdir=runs/mnist5k/vae_baseline/seed=0 \
      --yardstick=gaussian:0.3,laplace:0.2 --ais_steps=300 --max_ais_images=200

Restores the run (its own operative_config.gin) at --checkpoint, by default the checkpoint its
export holds ('selected'), and writes <workdir>/eval.json (with the step evaluated and the
exported step), <workdir>/eval_samples.png and TensorBoard scalars eval/* (see
spreadtf/evaluation/evaluation_run.py). Sample-quality metrics are the mean over
--num_sample_sets sets of generated images (default 5), in the feature space of --features:
'default' scores 28x28x1 runs in both shipped mnist5k views (the digit classifier, then the
blur-sensitive autoencoder, whose keys are prefixed `autoencoder_`; weights in the package,
SHA-256 pinned, nothing to train), 'classifier' or 'autoencoder' in one of them, a path is any
SavedModel or .keras model, 'none' skips them; --inception_weights uses InceptionV3 pool features
with weights you supply. --yardstick scores every run, VAE baselines included, on one likelihood
scale (docs/evaluation.md, "One scale across families"). Per-image values go to
eval_per_image.npz, the seconds of each part to eval.json's `seconds`. The flags are the options
of spreadtf.evaluation.commands.evaluate_workdir.
"""

from absl import app
from absl import flags

from spreadtf.evaluation import commands

__all__ = []

flags.DEFINE_string('workdir', None, 'The training run to evaluate.')
flags.DEFINE_integer('num_importance_samples', 1000,
                     'K of the importance-weighted likelihood (0 skips it).', lower_bound=0)
flags.DEFINE_integer('max_likelihood_images', None,
                     'Score only the first N held-out images with the IW likelihood.')
flags.DEFINE_list('iw_sweep', [], 'K values of an IW sweep on one spread draw per image, e.g. '
                  '1,10,100,1000,5000 (empty: none).')
flags.DEFINE_integer('ais_steps', 0, 'AIS intermediate distributions (0: no AIS); 300 suffices '
                     'for the MNIST MLP (docs/evaluation.md).', lower_bound=0)
flags.DEFINE_integer('ais_chains', 8, 'AIS chains per image.', lower_bound=1)
flags.DEFINE_integer('max_ais_images', None, 'Score only the first N held-out images with AIS '
                     '(and simulate N for BDMC).')
flags.DEFINE_bool('bdmc', False, 'Also the BDMC gap: forward and reverse AIS with the same '
                  'settings on data simulated from the model (needs --ais_steps).')
flags.DEFINE_multi_string('yardstick', [], 'Score the run by log q~(y) under a fixed kernel on '
                          'the same spread data as every run evaluated with this --seed: '
                          'family:scale (gaussian or laplace), comma-separated or repeated, e.g. '
                          'gaussian:0.3,laplace:0.2; IW with --num_importance_samples, and AIS '
                          'with --ais_steps on --max_ais_images.')
flags.DEFINE_integer('max_images', None, 'Use at most N held-out images (default: all).')
flags.DEFINE_integer('num_samples', None, 'Generated images for FD/KID/precision/recall '
                     '(default: as many as held-out images).')
flags.DEFINE_integer('num_sample_sets', 5, 'Independent generated sets; sample-quality metrics '
                     'are their mean, with <metric>_std_over_sets.', lower_bound=1)
flags.DEFINE_string('features', 'default',
                    "Feature extractor: 'default' (both shipped mnist5k views), 'classifier' or "
                    "'autoencoder' (one of them), 'none', or a SavedModel / .keras path.")
flags.DEFINE_string('inception_weights', None,
                    'InceptionV3 (no top) weights file: use its pool features instead.')
flags.DEFINE_string('checkpoint', 'selected', "'selected' (the checkpoint the run exported), "
                    "'best' (the best held-out ELBO's, else the latest), 'latest', or a "
                    'checkpoint prefix.')
flags.DEFINE_integer('seed', 0, 'Evaluation seed.')
flags.DEFINE_multi_string('gin_bindings', [], 'Bindings applied after the run\'s config.')
FLAGS = flags.FLAGS


def main(argv):
  del argv
  commands.evaluate_workdir(**{name: FLAGS[name].value
                               for name in ('workdir',) + commands.EVALUATE_OPTIONS})


if __name__ == '__main__':
  flags.mark_flag_as_required('workdir')
  flags.register_multi_flags_validator(
      ['bdmc', 'ais_steps'], lambda f: not f['bdmc'] or f['ais_steps'] > 0,
      '--bdmc runs AIS both ways with the AIS settings: also set --ais_steps (e.g. 300).')
  app.run(main)
