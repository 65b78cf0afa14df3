"""Reading the repository's Markdown for the docs tests: files, fenced blocks, headings, links.

A fenced block may be preceded (blank lines aside) by an HTML comment that GitHub does not show:
    <!-- not run: <why> -->     a shell block the snippet test leaves alone, with the reason
    <!-- schema: <Name> -->     a json block that must be valid under the OpenAPI schema <Name>
and a table may be preceded by
    <!-- run: table -->         the code spans of its last column are shell commands, run like a
                                shell block (the README's "first paid order" table)
"""
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from localdev import PROJECT_ROOT

SHELL = ('sh', 'bash', 'shell')
_FENCE = re.compile(r'^\s*(`{3,}|~{3,})\s*([^`\s]*)[^`]*$')
_MARKER = re.compile(r'^<!--\s*([a-z ]+):\s*(.*?)\s*-->$')
_HEADING = re.compile(r'^(#{1,6})\s+(.*?)\s*#*\s*$')
_LINK = re.compile(r'!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)')
_REFERENCE = re.compile(r'^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$')
_HTML_ANCHOR = re.compile(r'<a\s+(?:name|id)="([^"]+)"')
_CODE_SPAN = re.compile(r'(`+)(.+?)\1')


@dataclass(frozen=True)
class Block:
    """One fenced block: where it is, its language, its text, and the marker before it."""
    path: Path
    line: int
    language: str
    text: str
    marker: tuple = None

    @property
    def where(self):
        return f'{self.path.relative_to(PROJECT_ROOT)}:{self.line}'


def tracked_files():
    """Every file git tracks in the project, as absolute paths."""
    names = subprocess.run(['git', 'ls-files', '-z'], cwd=PROJECT_ROOT, capture_output=True,
                           check=True).stdout.decode('utf-8').split('\0')
    return [PROJECT_ROOT / name for name in names if name and (PROJECT_ROOT / name).is_file()]


def markdown_files():
    """Every Markdown file of the project (tracked or about to be)."""
    found = {path for path in tracked_files() if path.suffix == '.md'}
    found |= set((PROJECT_ROOT / 'docs').rglob('*.md'))
    found |= {p for p in PROJECT_ROOT.glob('*.md')}
    return sorted(found)


def blocks(path):
    """The fenced blocks of a Markdown file, in order."""
    lines = path.read_text(encoding='utf-8').splitlines()
    found, marker, index = [], None, 0
    while index < len(lines):
        line = lines[index]
        opened = _FENCE.match(line)
        comment = _MARKER.match(line.strip())
        if comment:
            marker = (comment[1], comment[2])
        elif marker == ('run', 'table') and line.startswith('|'):
            end = index
            while end < len(lines) and lines[end].startswith('|'):
                end += 1
            commands = [_last_cell_code(row) for row in lines[index + 2:end]]
            found.append(Block(path, index + 1, 'sh', '\n'.join(c for c in commands if c) + '\n', marker))
            marker, index = None, end - 1
        elif opened:
            fence, language = opened[1], opened[2].lower()
            end = index + 1
            while end < len(lines) and not lines[end].strip().startswith(fence):
                end += 1
            found.append(Block(path, index + 1, language, '\n'.join(lines[index + 1:end]) + '\n', marker))
            marker, index = None, end
        elif line.strip():
            marker = None
        index += 1
    return found


def _last_cell_code(row):
    """The code span of a table row's last cell ('' when it has none)."""
    cells = [cell.strip() for cell in row.strip().strip('|').split('|')]
    span = _CODE_SPAN.search(cells[-1]) if cells else None
    return span[2] if span else ''


def prose_lines(path):
    """(line number, text) of the lines outside fenced blocks, inline code removed."""
    for number, line in _lines_with_code(path):
        yield number, _CODE_SPAN.sub('', line)


def anchors(path):
    """The anchors GitHub makes for a Markdown file: heading slugs (with -1, -2 for repeats)
    and explicit <a name|id> anchors."""
    seen, found = {}, set()
    for _, line in _lines_with_code(path):
        heading = _HEADING.match(line)
        if heading:
            slug = slugify(heading[2])
            count = seen.get(slug, 0)
            found.add(slug if count == 0 else f'{slug}-{count}')
            seen[slug] = count + 1
        found.update(_HTML_ANCHOR.findall(line))
    return found


def _lines_with_code(path):
    """Lines outside fenced blocks with inline code kept (headings keep their code text)."""
    inside, fence = False, ''
    for number, line in enumerate(path.read_text(encoding='utf-8').splitlines(), 1):
        opened = _FENCE.match(line)
        if inside:
            if line.strip().startswith(fence):
                inside = False
            continue
        if opened:
            inside, fence = True, opened[1]
            continue
        yield number, line


def slugify(heading):
    """GitHub's heading anchor: link text kept, lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r'!?\[([^\]]*)\]\([^)]*\)', r'\1', heading)
    text = re.sub(r'<[^>]+>', '', text).lower()
    text = re.sub(r'[^\w\- ]', '', text)
    return text.replace(' ', '-')


def links(path):
    """(line number, target) of every inline or reference link and image outside code."""
    for number, line in prose_lines(path):
        for target in _LINK.findall(line):
            yield number, target
        reference = _REFERENCE.match(line)
        if reference:
            yield number, reference[1]
