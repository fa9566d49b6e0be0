"""A workdir's configuration: recorded at the first start, checked whenever the run starts again.

A run's configuration is every gin binding in force (the operative config, with selectors and
references resolved to full names, so the set of imported modules does not matter) plus the
root's own arguments (which gin does not record when a caller passes them). It is written to
`<workdir>/run_config.json` (`WorkdirLayout.run_config`) before the first step. Re-running on the
same workdir with another configuration would mix two runs in one checkpoint history, so `check`
refuses and lists the bindings that differ; only `train.num_steps` (to extend a run),
`train.export`, `train.verbose` and `train.on_data_change` (to resume on changed data) may
change. A root argument the recorded configuration lacks
(one added to the root after the run started) counts as its default, so an older run resumes
unless the new argument is set to something else.
Callables passed directly (not through gin) are compared by their qualified names.
"""

import functools
import inspect
import json

import gin
import tensorflow as tf

from spreadtf import _compat
from spreadtf import files
from spreadtf.training import workdir_layout

__all__ = ['ALLOWED_CHANGES', 'describe', 'gin_bindings', 'make_config', 'check',
           'write']

# Root arguments a rerun may change.
ALLOWED_CHANGES = ('num_steps', 'export', 'verbose', 'on_data_change')


class _Reference:
  """A gin `@name`, `@name()` or `%MACRO` in a parsed config, resolved to the full name."""

  def __init__(self, text):
    self.text = text


def _reference(scoped_configurable_name, evaluate):
  """`@[scope/]module.name[()]` of a parsed `@name` or `@name()`, unevaluated."""
  scope, _, name = scoped_configurable_name.rpartition('/')
  text = '@' + (scope + '/' if scope else '') + _full_name(name)
  return _Reference(text + ('()' if evaluate else ''))


def _macro(macro_name):
  return _Reference('%' + macro_name)


def _full_name(selector):
  """`module.name` of the configurable `selector` names, or `selector` if gin knows none."""
  try:
    return describe(gin.get_configurable(selector))[1:]
  except Exception:  # pylint: disable=broad-except  (unknown or ambiguous: keep it as written)
    return selector


def describe(value):
  """A stable string for a configuration value (the same in every process).

  Literals and containers as Python literals, callables as `@module.qualname` (partials with
  their arguments), other objects by `repr` unless it holds a memory address.
  """
  if isinstance(value, _Reference):
    return value.text
  if value is None or isinstance(value, (bool, int, float, str)):
    return repr(value)
  if isinstance(value, tuple):
    inner = ', '.join(describe(v) for v in value)
    return f'({inner},)' if len(value) == 1 else f'({inner})'
  if isinstance(value, list):
    return '[' + ', '.join(describe(v) for v in value) + ']'
  if isinstance(value, dict):
    items = sorted((describe(k), describe(v)) for k, v in value.items())
    return '{' + ', '.join(f'{k}: {v}' for k, v in items) + '}'
  if isinstance(value, functools.partial):
    arguments = [describe(a) for a in value.args]
    arguments += [f'{k}={describe(v)}' for k, v in sorted(value.keywords.items())]
    return f'{describe(value.func)}({", ".join(arguments)})'
  if callable(value) and hasattr(value, '__qualname__'):
    return f'@{value.__module__}.{value.__qualname__}'
  text = repr(value)
  if ' at 0x' in text:
    return f'<{type(value).__module__}.{type(value).__qualname__}>'
  return text


def gin_bindings(config_text):
  """`{binding: value}` strings of a gin config text (e.g. `gin.operative_config_str()`).

  Keys are `[scope/]module.configurable.parameter` with the full module path (macros: their
  name); values go through `describe`.
  """
  bindings = {}
  for scope, selector, arg_name, value in _compat.gin_binding_statements(
      config_text, _reference, _macro):
    key = f'{_full_name(selector)}.{arg_name}' if arg_name else selector  # or a macro
    bindings[(scope + '/' if scope else '') + key] = describe(value)
  return bindings


def make_config(root, arguments):
  """The configuration of a run: the operative gin bindings and the root's `arguments`.

  Args:
    root: the gin root function (configurable), e.g. `training_run.train`.
    arguments: `{name: value}` of every argument the root received, except where and how it
      runs (workdir, strategy).

  Returns:
    `{binding: value}` strings.
  """
  config = gin_bindings(gin.operative_config_str())
  prefix = describe(root)[1:]
  config.update({f'{prefix}.{name}': describe(value) for name, value in arguments.items()})
  return config


def check(workdir, config, root):
  """Raises unless `workdir` holds no recorded configuration or the same as `config`.

  Args:
    workdir: the run's workdir.
    config: `make_config(...)` of this run.
    root: the gin root (its `ALLOWED_CHANGES` arguments may differ).

  Returns:
    True if the workdir recorded a configuration (then it equals `config`).

  Raises:
    ValueError: naming the file and listing every binding that differs (workdir's value ->
      this run's), or if the file cannot be parsed. Nothing is written.
  """
  path = workdir_layout.WorkdirLayout(workdir).run_config
  if not tf.io.gfile.exists(path):
    return False
  try:
    with tf.io.gfile.GFile(path, 'r') as f:
      stored = json.load(f)['bindings']
  except (ValueError, KeyError, TypeError) as e:
    raise ValueError(f'{path!r} (the configuration recorded by the run in {workdir!r}) cannot '
                     f'be read: {e}. Nothing was changed; repair or move it aside, or use a new '
                     'workdir.') from e
  prefix = describe(root)[1:]
  allowed = {f'{prefix}.{name}' for name in ALLOWED_CHANGES}
  # A root argument added after the run was recorded: the run had its default's behaviour.
  defaults = {f'{prefix}.{name}': describe(parameter.default)
              for name, parameter in inspect.signature(root).parameters.items()
              if parameter.default is not inspect.Parameter.empty}
  differ = sorted(k for k in set(stored) | set(config)
                  if k not in allowed and stored.get(k, defaults.get(k)) != config.get(k))
  if differ:
    lines = '\n'.join(f'  {k}: {stored.get(k, "(not set)")} -> {config.get(k, "(not set)")}'
                      for k in differ)
    raise ValueError(
        f'workdir {workdir!r} holds a run with a different configuration ({path}). Bindings '
        f'that differ (workdir -> this run):\n{lines}\nNothing was changed. Use a new workdir, '
        "or run again with the workdir's configuration (its operative_config.gin); only "
        f'{", ".join("train." + n for n in ALLOWED_CHANGES)} may change (e.g. more num_steps '
        'to extend the run).')
  return True


def write(workdir, config):
  """Records `config` as the workdir's configuration (atomically)."""
  files.write_json(workdir_layout.WorkdirLayout(workdir).run_config, {'bindings': config})
