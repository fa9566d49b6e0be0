"""BUILD.md: its "Where things are" map names files that exist, and it carries no dated results."""

import pathlib
import re

import tensorflow as tf

_REPO = pathlib.Path(__file__).resolve().parents[1]
_BACKTICKED = re.compile(r'`([^`]+)`')
_RESULTS = 'docs/results.md'
# A pointer into the results page: docs/results.md, "Section" (a line break may fall anywhere).
_RESULTS_POINTER = re.compile(re.escape(_RESULTS) + r',\s+"([^"]+)"')
_ISO_DATE = re.compile(r'\b20\d\d-\d\d-\d\d\b')


def _section(text, heading):
  """The lines of the `## heading` section of a Markdown text, without the heading."""
  match = re.search(rf'^## {re.escape(heading)}\n(.*?)(?=^## |\Z)', text, flags=re.M | re.S)
  if match is None:
    raise AssertionError(f'no "## {heading}" section')
  return match.group(1)


def _map_rows(text):
  """`[(concept, [path, ...])]`, the rows of BUILD.md's "Where things are" table."""
  rows = []
  for line in _section(text, 'Where things are').splitlines():
    if not line.startswith('| ') or line.startswith(('| concept |', '|---')):
      continue
    cells = [cell.strip() for cell in line.strip().strip('|').split(' | ')]
    rows.append((cells[0], _BACKTICKED.findall(cells[-1])))
  return rows


def _normalized(text):
  return ' '.join(text.split())


class BuildDocTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.build = (_REPO / 'BUILD.md').read_text()

  def test_every_path_of_the_map_exists(self):
    rows = _map_rows(self.build)
    self.assertGreaterEqual(len(rows), 40)  # The map as written; fewer means rows were lost.
    for concept, paths in rows:
      self.assertNotEmpty(paths, f'the row {concept!r} names no path')
      for path in paths:
        self.assertTrue((_REPO / path).exists(),
                        f'BUILD.md, "Where things are": {concept!r} names {path!r}, which does '
                        'not exist; point the row at the module that now owns it.')

  def test_every_package_module_and_launcher_is_on_the_map(self):
    named = {path.rstrip('/') for _, paths in _map_rows(self.build) for path in paths}
    expected = {str(p.relative_to(_REPO)) for p in _REPO.glob('spreadtf/*.py')}
    expected |= {str(p.relative_to(_REPO)) for p in _REPO.glob('launch/*.py')}
    packages = {str(p.parent.relative_to(_REPO)) for p in _REPO.glob('spreadtf/*/__init__.py')}
    missing = sorted(expected - named)
    missing += sorted(package for package in packages
                      if not any(path.startswith(package + '/') for path in named))
    self.assertEmpty(missing, 'BUILD.md, "Where things are", does not name these; add a row '
                     'for what each one owns.')

  def test_build_md_carries_no_dated_results(self):
    dated = [line for line in self.build.splitlines() if _ISO_DATE.search(line)]
    self.assertEmpty(dated, f'BUILD.md holds dated numbers; they go stale. Move them to '
                     f'{_RESULTS} (with date and machine) and point to its section.')

  def test_every_pointer_into_the_results_page_names_one_of_its_sections(self):
    lines = (_REPO / _RESULTS).read_text().splitlines()
    headings = {_normalized(line.lstrip('#')) for line in lines if line.startswith('#')}
    sources = [_REPO / 'BUILD.md', *_REPO.glob('spreadtf/**/*.py'), *_REPO.glob('launch/*.py')]
    pointers = 0
    for source in sources:
      for section in _RESULTS_POINTER.findall(_normalized(source.read_text())):
        pointers += 1
        self.assertIn(section, headings, f'{source.relative_to(_REPO)} points to {_RESULTS}, '
                      f'"{section}", which has no such section.')
    self.assertGreater(pointers, 10)  # The pointers as written; none found means the regex broke.


if __name__ == '__main__':
  tf.test.main()
