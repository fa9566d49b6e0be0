"""Parsing a launcher's gin files and bindings, with errors that say what to do.

`parse` is `gin.parse_config_files_and_bindings(..., skip_unknown=False)` plus four things gin
does not do: a missing gin file names the closest shipped files; an unknown configurable,
parameter or malformed value says how bindings look; a syntax error names the gin file (its
path) or the binding (which one of `--gin_bindings`, and its text) and the line, where gin says
`tokenize.TokenError: ('EOF in multi-line statement', (2, 0))` for a bracket left open at the end
of a file or of the bindings, or `(line 2)` of all bindings joined; and a macro set in the
bindings that no config uses (e.g. `GAMA = 0.` for `GAMMA`, which gin accepts silently) is an
error. All of it happens before the launcher touches its workdir.

    gin_parsing.parse(FLAGS.gin_file, FLAGS.gin_bindings)   # relative to GIN_DIR

`GIN_DIR` is the repository's `gin/` directory (beside the `spreadtf` package, which is installed
in editable mode from the repository), the one place that names it.
"""

import contextlib
import difflib
import glob
import io
import logging
import os
import re
import tokenize

import gin

__all__ = ['GIN_DIR', 'parse', 'unused_macros']

GIN_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'gin')

_SEARCH_PATH = set()   # directories this module added to gin's search path
_MACRO = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=', re.MULTILINE)
_INCLUDE = re.compile(r'^\s*include\s+([\'"])(.+?)\1', re.MULTILINE)
_OPENERS = {'(': ')', '[': ']', '{': '}'}
_BINDING_HELP = (
    'Bindings look like `run.num_iterations = 100` (configurable.parameter = Python literal, '
    "strings quoted: run.dtype = 'float64') or `MACRO = value`; names are case-sensitive, and "
    'a configurable needs its module imported by a gin file (e.g. `import '
    'spreadtf.ica.ica_run`). The configurable\'s docstring lists its parameters.')


def _not_gin_search_noise(record):
  # gin's system-path reader logs 'Path not found: <file>' at ERROR (and more at INFO) for every
  # gin file it then finds on the search path; a file found nowhere is an error of its own.
  return not record.getMessage().startswith(('Path not found: ', 'system_path_file_exists:'))


@contextlib.contextmanager
def _quiet_gin_search():
  root = logging.getLogger()
  root.addFilter(_not_gin_search_noise)
  try:
    yield
  finally:
    root.removeFilter(_not_gin_search_noise)


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


def _unbalanced(text):
  """`(line, what)` of a bracket or string in `text` that is never closed or closes nothing.

  gin reads files and bindings with Python's tokenizer, which fails only at the end of the text
  (`TokenError: ('EOF in multi-line statement', (last line + 1, 0))`), or gin fails at the next
  statement swallowed by the open bracket; the line to fix is the bracket's own.

  Returns:
    `(line, what)`, or None when every bracket and string closes.
  """
  openers = []
  try:
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
      if token.type != tokenize.OP:
        continue
      if token.string in _OPENERS:
        openers.append(token)
      elif token.string in _OPENERS.values():
        if not openers or _OPENERS[openers[-1].string] != token.string:
          opened = f" (the open bracket is '{openers[-1].string}')" if openers else ''
          return token.start[0], f"'{token.string}' closes no bracket{opened}"
        openers.pop()
  except tokenize.TokenError as e:
    if openers:
      token = openers[-1]
      return token.start[0], f"'{token.string}' is never closed (no '{_OPENERS[token.string]}')"
    line = e.args[1][0] if len(e.args) > 1 else None
    return line, ('a string in triple quotes is never closed' if 'string' in e.args[0]
                  else e.args[0])
  return None


def _resolve(path, gin_dir):
  """The file gin reads for `path` (as given, else under `gin_dir`), or None."""
  for candidate in (path, os.path.join(gin_dir, path)):
    if os.path.isfile(candidate):
      return candidate
  return None


def _gin_file_texts(gin_files, gin_dir, seen=None):
  """`(path, text)` of `gin_files` and the files they include, each include before its file."""
  seen = set() if seen is None else seen
  for name in gin_files:
    path = _resolve(name, gin_dir)
    if path is None or path in seen:
      continue
    seen.add(path)
    with open(path) as f:
      text = f.read()
    yield from _gin_file_texts([m[1] for m in _INCLUDE.findall(text)], gin_dir, seen)
    yield path, text


def _line_of(text, line):
  lines = text.splitlines()
  return f'\n    {lines[line - 1].strip()}' if line and 0 < line <= len(lines) else ''


def _binding_at(bindings, line):
  """`(index, line within it)` of `line` of the bindings joined by newlines, as gin joins them."""
  start = 1
  for index, binding in enumerate(bindings):
    end = start + len(binding.split('\n'))
    if line < end:
      return index, line - start + 1
    start = end
  return len(bindings) - 1, None


def _syntax_error_place(error, gin_files, bindings, gin_dir):
  """`<gin file or binding>, line N: <what>` and the line's text, for a gin syntax error.

  Args:
    error: the `SyntaxError` gin raised (its `filename` is None for the bindings) or the
      `tokenize.TokenError` of a bracket or string still open at the end of a file or of the
      bindings (gin says neither which).
    gin_files: as for `parse`.
    bindings: as for `parse`.
    gin_dir: as for `parse`.

  Returns:
    The place and problem, or None if it cannot be found.
  """
  in_file = getattr(error, 'filename', None)
  sources = []
  if in_file or not isinstance(error, SyntaxError):
    sources += [(f'gin file {path!r}', text) for path, text in _gin_file_texts(gin_files, gin_dir)
                if not in_file or os.path.abspath(path) == os.path.abspath(in_file)]
  if not in_file:
    sources += [(f'binding {i + 1} of {len(bindings)} (--gin_bindings={b!r})', b)
                for i, b in enumerate(bindings)]
  for where, text in sources:
    found = _unbalanced(text)
    if found:
      return f'{where}, line {found[0]}: {found[1]}{_line_of(text, found[0])}'
  if not isinstance(error, SyntaxError) or not error.lineno:
    return None
  if in_file:
    where, text, line = f'gin file {in_file!r}', (sources or [('', '')])[0][1], error.lineno
  elif bindings:
    index, line = _binding_at(bindings, error.lineno)
    where, text = sources[index]
  else:
    return None
  return f'{where}, line {line}: {error.msg}{_line_of(text, line)}'


def parse(gin_files, bindings, gin_dir=GIN_DIR, used_macros=()):
  """Clears gin and parses `gin_files` then `bindings`, with `gin_dir` on the search path.

  Args:
    gin_files: gin file paths, relative to `gin_dir` (or the working directory) or absolute.
    bindings: binding strings, applied after the files.
    gin_dir: the directory gin file paths are relative to (default: the repository's gin/).
    used_macros: macros the caller reads itself, so binding them is not "unused".

  Raises:
    FileNotFoundError: for a gin file that does not exist (naming close shipped files).
    ValueError: for an unknown configurable or parameter, a malformed binding or value (a
      syntax error names the gin file or the binding, and the line), or a macro set in
      `bindings` that no config uses.
  """
  gin.clear_config()
  if gin_dir not in _SEARCH_PATH:   # gin keeps its search path across clear_config()
    gin.add_config_file_search_path(gin_dir)
    _SEARCH_PATH.add(gin_dir)
  try:
    with _quiet_gin_search():
      gin.parse_config_files_and_bindings(gin_files, bindings, skip_unknown=False)
  except OSError as e:
    shipped = _shipped(gin_dir)
    missing = [f for f in gin_files
               if not os.path.exists(f) and not os.path.exists(os.path.join(gin_dir, f))]
    close = sorted({m for f in missing for m in difflib.get_close_matches(f, shipped, n=3)})
    raise FileNotFoundError(
        f'{e}\nGin files are paths relative to {gin_dir} (e.g. ica/demo.gin) or absolute paths.'
        + (f' Did you mean {", ".join(close)}?' if close else '')) from e
  except (SyntaxError, tokenize.TokenError) as e:
    place = _syntax_error_place(e, gin_files, bindings, gin_dir)
    problem = f'gin syntax error in {place}' if place else f'gin syntax error: {e}'
    raise ValueError(f'{problem}\n{_BINDING_HELP}') from e
  except ValueError as e:
    raise ValueError(f'{e}\n{_BINDING_HELP}') from e
  unused = unused_macros(bindings, gin.config_str(), used_macros)
  if unused:
    known = sorted(set(re.findall(r'%([A-Za-z_][A-Za-z0-9_]*)', gin.config_str())))
    raise ValueError(f'--gin_bindings set macro(s) {unused} that no config uses (misspelt?); '
                     f'the macros in use are {known}.')
