"""Parsing a launcher's gin files and bindings, with errors that say what to do.

`parse` is `gin.parse_config_files_and_bindings(..., skip_unknown=False)` plus three things gin
does not do: a missing gin file names the closest shipped files, an unknown configurable,
parameter or malformed value says how bindings look, and a macro set in the bindings that no
config uses (e.g. `GAMA = 0.` for `GAMMA`, which gin accepts silently) is an error. All of it
happens before the launcher touches its workdir.

    gin_parsing.parse(FLAGS.gin_file, FLAGS.gin_bindings)   # relative to GIN_DIR

`GIN_DIR` is the repository's `gin/` directory (beside the `spreadtf` package, which is installed
in editable mode from the repository), the one place that names it.
"""

import difflib
import glob
import os
import re

import gin

__all__ = ['GIN_DIR', 'parse', 'unused_macros']

GIN_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'gin')

_MACRO = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=', re.MULTILINE)
_BINDING_HELP = (
    'Bindings look like `run.num_iterations = 100` (configurable.parameter = Python literal, '
    "strings quoted: run.dtype = 'float64') or `MACRO = value`; names are case-sensitive, and "
    'a configurable needs its module imported by a gin file (e.g. `import '
    'spreadtf.ica.ica_run`). The configurable\'s docstring lists its parameters.')


def _shipped(gin_dir):
  return sorted(os.path.relpath(p, gin_dir)
                for p in glob.glob(os.path.join(gin_dir, '**', '*.gin'), recursive=True))


def unused_macros(bindings, config_str, used_elsewhere=()):
  """Macros set in `bindings` that no binding of `config_str` references (`%NAME`).

  Args:
    bindings: binding strings (each may hold several lines).
    config_str: `gin.config_str()` after parsing.
    used_elsewhere: macros read directly by the caller (e.g. with `gin.query_parameter`).

  Returns:
    Sorted macro names.
  """
  bound = {name for binding in bindings for name in _MACRO.findall(binding)}
  return sorted(name for name in bound - set(used_elsewhere)
                if not re.search(rf'%{name}\b', config_str))


def parse(gin_files, bindings, gin_dir=GIN_DIR, used_macros=()):
  """Clears gin and parses `gin_files` then `bindings`, with `gin_dir` on the search path.

  Args:
    gin_files: gin file paths, relative to `gin_dir` (or the working directory) or absolute.
    bindings: binding strings, applied after the files.
    gin_dir: the directory gin file paths are relative to (default: the repository's gin/).
    used_macros: macros the caller reads itself, so binding them is not "unused".

  Raises:
    FileNotFoundError: for a gin file that does not exist (naming close shipped files).
    ValueError: for an unknown configurable or parameter, a malformed binding or value, or a
      macro set in `bindings` that no config uses.
  """
  gin.clear_config()
  gin.add_config_file_search_path(gin_dir)
  try:
    gin.parse_config_files_and_bindings(gin_files, bindings, skip_unknown=False)
  except OSError as e:
    shipped = _shipped(gin_dir)
    missing = [f for f in gin_files
               if not os.path.exists(f) and not os.path.exists(os.path.join(gin_dir, f))]
    close = sorted({m for f in missing for m in difflib.get_close_matches(f, shipped, n=3)})
    raise FileNotFoundError(
        f'{e}\nGin files are paths relative to {gin_dir} (e.g. ica/demo.gin) or absolute paths.'
        + (f' Did you mean {", ".join(close)}?' if close else '')) from e
  except (ValueError, SyntaxError) as e:
    raise ValueError(f'{e}\n{_BINDING_HELP}') from e
  unused = unused_macros(bindings, gin.config_str(), used_macros)
  if unused:
    known = sorted(set(re.findall(r'%([A-Za-z_][A-Za-z0-9_]*)', gin.config_str())))
    raise ValueError(f'--gin_bindings set macro(s) {unused} that no config uses (misspelt?); '
                     f'the macros in use are {known}.')
