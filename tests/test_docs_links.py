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
PENDING = {
    'chalicelib/auth.py': 'docs/api.md#credentials',
    'chalicelib/errors.py': 'docs/api.md#errors',
    'chalicelib/events.py': 'docs/webhooks.md',
    'chalicelib/settings.py': 'docs/providers/midas.md#settings, docs/providers/wechatpay.md#settings',
    'chalicelib/cloudmarket/__init__.py': 'docs/cloudmarket.md',
    'chalicelib/cloudmarket/dispatcher.py': 'docs/cloudmarket.md#actions',
    'chalicelib/cloudmarket/signature.py': 'docs/cloudmarket.md#the-signature',
    'chalicelib/providers/codepay.py': 'docs/providers/codepay.md',
    'chalicelib/providers/alipay/__init__.py': 'docs/providers/alipay.md',
    'chalicelib/providers/alipay/codec.py': 'docs/providers/alipay.md#signing',
    'chalicelib/providers/alipay/gateway.py': 'docs/providers/alipay.md#query-close-and-refund',
    'chalicelib/providers/alipay/notify.py': 'docs/providers/alipay.md#notifications',
    'chalicelib/providers/midas/__init__.py': 'docs/providers/midas.md',
    'chalicelib/providers/midas/api.py': 'docs/providers/midas.md#calling-midas',
    'chalicelib/providers/midas/coins.py': 'docs/providers/midas.md#game-coins',
    'chalicelib/providers/midas/sign.py': 'docs/providers/midas.md#signing',
    'chalicelib/providers/wechatpay/v2.py': 'docs/providers/wechatpay.md#api-v2',
    'chalicelib/providers/wechatpay/v3.py': 'docs/providers/wechatpay.md#api-v3',
    'localdev/sandbox/alipay.py': 'docs/providers/alipay.md#signing',
    'localdev/sandbox/cloudmarket.py': 'docs/cloudmarket.md#the-signature',
    'localdev/sandbox/codepay.py': 'docs/providers/codepay.md#signing',
    'localdev/sandbox/midas.py': 'docs/providers/midas.md#signing',
    'localdev/sandbox/wechatpay.py': 'docs/providers/wechatpay.md',
    'tests/alipay_sdk.py': 'docs/providers/alipay.md#signing',
    'tests/cloudmarket_fixtures.py': 'docs/cloudmarket.md#the-signature',
    'tests/helpers.py': 'docs/providers/codepay.md#signing, docs/providers/midas.md#signing',
    'tests/test_alipay_codec.py': 'docs/providers/alipay.md#signing',
    'tests/test_cloudmarket_signature.py': 'docs/cloudmarket.md#the-signature',
    'tests/test_codepay.py': 'docs/providers/codepay.md#signing',
    'tests/test_midas_sign.py': 'docs/providers/midas.md#signing',
    'tests/test_wechatpay_signing.py': 'docs/providers/wechatpay.md#signing',
}


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
    unexpected = {name: lines for name, lines in pointing.items() if name not in PENDING}
    assert not unexpected, f'these point outside the repository (lines): {unexpected}'
    fixed = sorted(set(PENDING) - set(pointing))
    assert not fixed, f'fixed, remove from PENDING: {fixed}'


def test_pending_replacements_are_real_pages():
    for replacement in PENDING.values():
        for target in replacement.split(', '):
            page, _, anchor = target.partition('#')
            assert (PROJECT_ROOT / page).is_file(), target
            assert not anchor or anchor in docs_markdown.anchors(PROJECT_ROOT / page), target
