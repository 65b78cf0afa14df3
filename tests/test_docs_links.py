"""Every relative link in the Markdown resolves, and nothing in the repository points outside it."""
import re
from urllib.parse import unquote

import pytest

from localdev import PROJECT_ROOT
from tests import docs_markdown

# Where a document or comment would send a reader outside the repository: the team's shared
# notes beside the checkout, or a path on one developer's machine. Written as patterns so this
# file does not name them itself.
OUTSIDE = re.compile(r'\.\./shared|/wor[k]/|\bPROVIDERS\.md|(?<![\w/])API\.md|\bDESIGN\.md|\bCHALICE\.md')

# Code that still cites the shared notes, and the page of docs/ that replaces each citation.
# The code's owners replace them; remove a line here when its file no longer matches.
def _targets():
    for path in docs_markdown.markdown_files():
        for line, target in docs_markdown.links(path):
            if not re.match(r'[a-z][a-z0-9+.-]*:', target, re.I):
                yield pytest.param(path, line, target, id=f'{path.relative_to(PROJECT_ROOT)}:{line}')


@pytest.mark.parametrize('path, line, target', list(_targets()))
def test_relative_link_resolves(path, line, target):
    file_part, _, anchor = target.partition('#')
    file_part = unquote(file_part)
    if not file_part:
        linked = path
    elif file_part.startswith('/'):
        linked = PROJECT_ROOT / file_part.lstrip('/')
    else:
        linked = (path.parent / file_part).resolve()
    assert linked.exists(), f'{target}: no such file {linked}'
    assert PROJECT_ROOT in (linked, *linked.parents), f'{target} leaves the repository'
    if anchor and linked.suffix == '.md':
        assert unquote(anchor) in docs_markdown.anchors(linked), f'{target}: no heading #{anchor} in {linked.name}'


def test_nothing_points_outside_the_repository():
    pointing = {}
    for path in docs_markdown.tracked_files() + docs_markdown.markdown_files():
        try:
            text = path.read_text(encoding='utf-8')
        except UnicodeDecodeError:
            continue
        lines = [n for n, line in enumerate(text.splitlines(), 1) if OUTSIDE.search(line)]
        if lines:
            pointing[str(path.relative_to(PROJECT_ROOT))] = lines
    assert not pointing, f'these point outside the repository (lines): {pointing}'


def test_the_docs_pages_code_cites_exist():
    """Code comments cite docs/<page>.md#<anchor> for protocol facts: each must be there."""
    cited = set()
    for path in docs_markdown.tracked_files():
        if path.suffix == '.py':
            cited |= set(re.findall(r'\b(docs/[\w/.-]+\.md)(?:#([\w-]+))?', path.read_text(encoding='utf-8')))
    assert cited
    for page, anchor in cited:
        assert (PROJECT_ROOT / page).is_file(), page
        assert not anchor or anchor in docs_markdown.anchors(PROJECT_ROOT / page), f'{page}#{anchor}'
