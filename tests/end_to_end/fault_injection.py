"""Runs `launch/train.py` and SIGKILLs it at a chosen moment (for tests/end_to_end/fault_soak_test).

    python tests/end_to_end/fault_injection.py --fault=PHASE:N --fault_log=PATH -- <train flags>

The process kills itself (SIGKILL: no handler, no cleanup) at the N-th occurrence (1-based) of:

  * `step`: the end of a compiled host loop (the steps ran, nothing saved since);
  * `checkpoint`: a checkpoint save whose shards are written in `ckpt-<step>_temp/` but not yet
    merged into `ckpt-<step>` (the debris of an interrupted save);
  * `checkpoint_state`: a save whose files are complete, while the state file is being
    replaced (an empty `checkpoint.tmp<hex>` beside it, the state file not yet updated);
  * `evaluation`: an evaluation, after its first held-out batch;
  * `export`: the generator export, staged completely but not yet renamed into place;
  * `metrics`: `metrics.json`, half of it written to its temporary name;
  * `random`: N milliseconds after the controller starts training (wherever that falls).

Before the kill it appends `PHASE N` to PATH, so the test knows the fault happened where meant.
"""

import json
import os
import runpy
import signal
import sys
import threading
import uuid

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _kill(log, phase, count):
  with open(log, 'a') as f:
    f.write(f'{phase} {count}\n')
    f.flush()
    os.fsync(f.fileno())
  os.kill(os.getpid(), signal.SIGKILL)


def _on_nth_call(owner, name, count, before=None, after=None):
  """Wraps `owner.name`: at its `count`-th call run `before(*args)` (then the call) or, after the
  call, `after(*args)`."""
  original = getattr(owner, name)
  calls = [0]

  def wrapper(*args, **kwargs):
    calls[0] += 1
    if calls[0] == count and before is not None:
      before(*args, **kwargs)
    result = original(*args, **kwargs)
    if calls[0] == count and after is not None:
      after(*args, **kwargs)
    return result

  setattr(owner, name, wrapper)


def _install(phase, count, log):
  """Patches the moment `phase` (see the module docstring) to kill this process."""
  # pylint: disable=g-import-not-at-top
  import tensorflow as tf

  from spreadtf import _compat
  from spreadtf import files
  from spreadtf.training import controller
  from spreadtf.training import loop

  checkpoint_management, functional_saver = _compat.checkpoint_saving_modules()

  def kill(*args, **kwargs):
    del args, kwargs
    _kill(log, phase, count)

  if phase == 'step':
    _on_nth_call(loop.RefusedSteps, 'after_loop', count, after=kill)
  elif phase == 'checkpoint':
    _on_nth_call(functional_saver.gen_io_ops, 'merge_v2_checkpoints', count, before=kill)
  elif phase == 'checkpoint_state':
    def half_replaced(filename, contents, overwrite=True):
      del contents, overwrite
      with open(filename + '.tmp' + uuid.uuid4().hex, 'wb'):
        pass
      kill()
    _on_nth_call(checkpoint_management.file_io, 'atomic_write_string_to_file', count,
                 before=half_replaced)
  elif phase == 'evaluation':
    def first_batch(model, eval_fn, dataset, eval_steps):
      del model, eval_steps
      eval_fn(iter(dataset), tf.constant(1, tf.int32))
      kill()
    _on_nth_call(loop, 'evaluate', count, before=first_batch)
  elif phase == 'export':
    _on_nth_call(files, '_swap_in', count, before=kill)
  elif phase == 'metrics':
    original, calls = files.write_json, [0]

    def write_json(path, obj):
      if path.endswith('metrics.json'):
        calls[0] += 1
        if calls[0] == count:
          text = json.dumps(obj)
          with open(files.temporary_name(path), 'w') as f:
            f.write(text[:len(text) // 2])
          kill()
      return original(path, obj)

    files.write_json = write_json
  elif phase == 'random':
    def start_timer(*args, **kwargs):
      del args, kwargs
      threading.Timer(count / 1000., kill).start()
    _on_nth_call(controller.Controller, 'run', 1, before=start_timer)
  else:
    raise ValueError(f'unknown fault phase {phase!r}')


def main():
  args = sys.argv[1:]
  split = args.index('--')
  own = dict(arg[2:].split('=', 1) for arg in args[:split])
  phase, count = own['fault'].split(':')
  sys.path.insert(0, _REPO)
  _install(phase, int(count), own['fault_log'])
  script = os.path.join(_REPO, 'launch', 'train.py')
  sys.argv = [script] + args[split + 1:]
  runpy.run_path(script, run_name='__main__')


if __name__ == '__main__':
  main()
