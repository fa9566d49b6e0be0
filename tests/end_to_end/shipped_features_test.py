"""The shipped mnist5k extractors in fresh processes: offline, no training step, no files written.

Each child process runs with the network cut (a `sitecustomize` that makes every socket connect
fail), an empty working directory and an empty HOME, so a download, a training step or a
`runs/features` directory would show.
"""

import json
import os
import subprocess
import sys
import textwrap

import gin
import numpy as np
import tensorflow as tf

from spreadtf import gin_parsing
from spreadtf.data import mnist5k
from spreadtf.evaluation import shipped_features
from spreadtf.training import training_run

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_NO_NETWORK = textwrap.dedent('''
    import socket
    def _refuse(*args, **kwargs):
      raise OSError('network access in a test that must run offline')
    socket.socket.connect = _refuse
    socket.socket.connect_ex = _refuse
    socket.create_connection = _refuse
    socket.getaddrinfo = _refuse
''')

_LOAD = textwrap.dedent('''
    import json, socket, sys, time
    import numpy as np
    import tensorflow as tf
    try:
      socket.create_connection(('pypi.org', 443))
      offline = False
    except OSError:
      offline = True
    start = time.process_time()
    from spreadtf.evaluation import shipped_features
    extractors = shipped_features.load_default_extractors()
    load_cpu_seconds = time.process_time() - start
    images = np.load(sys.argv[1])
    print(json.dumps({'offline': offline, 'load_cpu_seconds': load_cpu_seconds,
                      'features': {view: e(images).tolist() for view, e in extractors.items()},
                      'sha256': {view: e.description()['sha256']
                                 for view, e in extractors.items()}}))
''')


class ShippedFeaturesProcessTest(tf.test.TestCase):

  def _offline_env(self):
    site = self.create_tempdir('site')
    site.create_file('sitecustomize.py', _NO_NETWORK)
    home = self.create_tempdir('home').full_path
    path = os.pathsep.join(p for p in (site.full_path, os.environ.get('PYTHONPATH')) if p)
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', PYTHONPATH=path, HOME=home,
                KERAS_HOME=os.path.join(home, '.keras'))

  def test_loads_offline_in_a_fresh_process_without_training(self):
    workdir = self.create_tempdir('cwd').full_path
    images = mnist5k.load_mnist5k('test')[0][:8]
    images_path = os.path.join(self.create_tempdir('data').full_path, 'images.npy')
    np.save(images_path, images)
    env = self._offline_env()
    result = subprocess.run([sys.executable, '-c', _LOAD, images_path], cwd=workdir, env=env,
                            capture_output=True, text=True, timeout=300, check=False)
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    child = json.loads(result.stdout.strip().splitlines()[-1])
    self.assertTrue(child['offline'])
    extractors = shipped_features.load_default_extractors()
    for view, extractor in extractors.items():
      self.assertEqual(child['sha256'][view], shipped_features.SHIPPED[view].sha256)
      self.assertAllClose(child['features'][view], extractor(images), atol=1e-5)
    # Loading reads two 0.9 MB files into networks built in code: about 1 s of CPU here. Training
    # either network takes over 15 s of CPU on this machine, so the bound tells loading from any
    # training step; it is not a speed claim.
    self.assertLess(child['load_cpu_seconds'], 10.)
    self.assertEqual(os.listdir(workdir), [])
    # Importing TensorFlow writes ~/.keras/keras.json and matplotlib's font cache; a download or
    # a training step would leave Keras' datasets/ or models/ caches or a weights file.
    written = [os.path.relpath(os.path.join(directory, name), env['HOME'])
               for directory, _, names in os.walk(env['HOME']) for name in names]
    self.assertEmpty([name for name in written
                      if name.startswith(('.keras/datasets', '.keras/models'))
                      or name.endswith(('.h5', '.keras', '.npz', '.pb'))], written)

  def test_evaluate_default_features_need_no_training_step(self):
    workdir = os.path.join(self.create_tempdir('runs').full_path, 'run')
    gin.clear_config()
    gin.add_config_file_search_path(gin_parsing.GIN_DIR)
    gin.parse_config_files_and_bindings(['mnist/delta_vae_gaussian.gin', 'smoke.gin'],
                                        ['train.seed = 0'], skip_unknown=False)
    training_run.train(workdir=workdir, verbose=False)
    gin.clear_config()
    cwd = self.create_tempdir('cwd').full_path
    result = subprocess.run(
        [sys.executable, os.path.join(_REPO, 'launch', 'evaluate.py'), f'--workdir={workdir}',
         '--num_importance_samples=0', '--num_sample_sets=2'],
        cwd=cwd, env=self._offline_env(), capture_output=True, text=True, timeout=300,
        check=False)
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    with open(os.path.join(workdir, 'eval.json')) as f:
      written = json.load(f)
    for view, prefix in (('classifier', ''), ('autoencoder', 'autoencoder_')):
      self.assertEqual(written['feature_extractors'][view]['sha256'],
                       shipped_features.SHIPPED[view].sha256)
      for key in ('frechet_distance', 'kid', 'precision', 'recall'):
        self.assertTrue(np.isfinite(written[prefix + key]), prefix + key)
        self.assertIn(prefix + key + '_std_over_sets', written)
      self.assertIn(prefix + 'real_data_reference', written)
    self.assertEqual(written['num_sample_sets'], 2)
    self.assertIn('"autoencoder_frechet_distance"', result.stdout)
    self.assertEqual(os.listdir(cwd), [])


if __name__ == '__main__':
  tf.test.main()
