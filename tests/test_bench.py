"""The benchmarks run: `python -m bench.<script> --smoke` with a few iterations each.

Times are never judged here (smoke mode judges counts only); what is checked is
that each script runs to the end and reports every figure it is meant to, and
that the counts it judges are met. The cold-start, memory and local-server
scripts start several processes each; `python -m bench --smoke` runs them all.
"""
import json
import subprocess
import sys

import pytest

from localdev import PROJECT_ROOT

PROVIDERS = ('Codepay', 'Alipay', 'WeChat Pay v3', 'WeChat Pay v2', 'Midas')


def smoke(script, tmp_path):
    out = tmp_path / f'{script}.json'
    run = subprocess.run([sys.executable, '-m', f'bench.{script}', '--smoke', '--figures-to', str(out)],
                         cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return {figure['name']: figure for figure in json.loads(out.read_text())}


def test_round_trips_counts_every_providers_notifications_and_every_creation_path(tmp_path):
    found = smoke('round_trips', tmp_path)
    for provider in PROVIDERS:
        for case in ('first valid notification', 'verified duplicate'):
            assert found[f'{provider}: {case}, DynamoDB requests']['measured'] == '1 (TransactWriteItems)'
    creation = [figure for name, figure in found.items() if name.startswith('order creation')]
    assert len(creation) == 5 and all(figure['verdict'] == 'ok' for figure in creation)


@pytest.fixture(scope='module')
def cpu_figures(tmp_path_factory):
    return smoke('cpu', tmp_path_factory.mktemp('cpu'))


def test_cpu_shows_paygate_and_the_bare_primitive_for_every_provider(cpu_figures):
    for provider in PROVIDERS:
        assert f'{provider}: warm CPU, whole notification' in cpu_figures
        assert f'{provider}: warm CPU, Paygate verification' in cpu_figures
        assert any(name.startswith(f'{provider}: warm CPU, one ') for name in cpu_figures)


@pytest.mark.parametrize('sdk', ['python-alipay-sdk verify', 'wechatpayv3 WeChatPay.callback',
                                 'wechatpy parse_payment_result'])
def test_cpu_shows_each_peer_sdk_measured(cpu_figures, sdk):
    [figure] = [figure for name, figure in cpu_figures.items() if name.endswith(sdk)]
    assert figure['verdict'] == 'info' and figure['measured'].endswith('primitive)')
