"""`paygate keys new`: throw-away key material for a sandbox stage; `paygate keys from-p12`: WeChat
Pay's client certificate as the PEM settings. Both print settings lines to paste."""
import json
import secrets

import click

from paygate_cli import crypto, output, stage
from paygate_cli.errors import CliError


def _codepay():
    return {'PAYGATE_CODEPAY_KEY': crypto.random_text(32)}, {}, {}


def _alipay():
    app_private, app_public = crypto.new_rsa_pair()
    alipay_private, alipay_public = crypto.new_rsa_pair()
    return ({'PAYGATE_ALIPAY_APP_PRIVATE_KEY': app_private, 'PAYGATE_ALIPAY_PUBLIC_KEY': alipay_public},
            {stage.SANDBOX_ALIPAY_KEY: alipay_private},
            {'the app public key (for an Alipay console)': app_public})


def _wechatpay():
    merchant_private, merchant_public = crypto.new_rsa_pair()
    wechat_private, wechat_public = crypto.new_rsa_pair()
    return ({'PAYGATE_WECHATPAY_KEY': crypto.random_text(32),
             'PAYGATE_WECHATPAY_APIV3_KEY': crypto.random_text(32),
             'PAYGATE_WECHATPAY_PRIVATE_KEY': merchant_private,
             'PAYGATE_WECHATPAY_CERT_SERIAL': secrets.token_hex(20).upper(),
             'PAYGATE_WECHATPAY_PUBLIC_KEY': wechat_public,
             'PAYGATE_WECHATPAY_PUBLIC_KEY_ID': 'PUB_KEY_ID_' + crypto.random_text(36, '0123456789')},
            {stage.SANDBOX_WECHATPAY_KEY: wechat_private},
            {"the merchant's public key": merchant_public})


def _midas():
    return {'PAYGATE_MIDAS_APPKEY': crypto.random_text(32)}, {}, {}


def _cloudmarket():
    return ({'PAYGATE_CLOUDMARKET_TOKEN': crypto.random_text(32),
             'PAYGATE_CLOUDMARKET_LOGIN_SECRET': crypto.random_text(48)}, {}, {})


GENERATORS = {'codepay': _codepay, 'alipay': _alipay, 'wechatpay': _wechatpay, 'midas': _midas,
              'cloudmarket': _cloudmarket}
CLI_ONLY = {'alipay': 'the sandbox "Alipay" signs notifications with it',
            'wechatpay': 'the sandbox "WeChat Pay" signs notifications with it'}


@click.group()
def keys():
    """Sandbox key material."""


@keys.command('new')
@click.argument('provider', type=click.Choice(sorted(GENERATORS)))
@click.pass_obj
def keys_new(ctx, provider):
    """Generate sandbox keys for PROVIDER: RSA pairs for Alipay and WeChat Pay v3, random keys
    for the MD5/HMAC providers. Prints the settings lines to paste into the stage's configuration;
    with --keys FILE, also merges them, and the private keys only the CLI holds, into FILE."""
    settings, cli_only, notes = GENERATORS[provider]()
    if ctx.keys_file:
        stage.write_file(ctx.keys_file, {**settings, **cli_only})
    if ctx.json:
        output.as_json({'settings': settings, 'cli': cli_only, 'notes': notes, 'written_to': ctx.keys_file})
        return
    click.echo(f'# {provider} sandbox settings: paste into .chalice/config.json '
               '(the stage\'s "environment_variables"), or store the secrets as references')
    _lines(settings)
    if cli_only:
        click.echo(f'# for the CLI only ({CLI_ONLY[provider]}); keep it in a keys file (--keys FILE)')
        _lines(cli_only)
    for label, value in notes.items():
        click.echo(f'# {label}: {value}')
    if ctx.keys_file:
        click.echo(f'# merged into {ctx.keys_file}')


def _lines(values):
    for name, value in values.items():
        click.echo(f'{json.dumps(name)}: {json.dumps(value)},')


@keys.command('from-p12')
@click.argument('p12_file', type=click.File('rb'))
@click.option('--password', help="The .p12's password (default: the merchant id, as WeChat Pay issues it).")
@click.option('--mch-id', help='The merchant id, when the password is the default.')
@click.pass_obj
def keys_from_p12(ctx, p12_file, password, mch_id):
    """WeChat Pay's apiclient_cert.p12 as PAYGATE_WECHATPAY_CLIENT_CERT and _CLIENT_KEY (PEM), which
    v2 refunds present. Paygate reads no .p12 itself: its Lambda package carries no PKCS#12 reader."""
    if not (password or mch_id):
        raise CliError('give --password, or --mch-id when the password is the merchant id')
    try:
        cert, key = crypto.pem_from_p12(p12_file.read(), password or mch_id)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    settings = {'PAYGATE_WECHATPAY_CLIENT_CERT': cert, 'PAYGATE_WECHATPAY_CLIENT_KEY': key}
    if ctx.json:
        output.as_json({'settings': settings})
        return
    click.echo('# WeChat Pay client certificate: store both as secrets (e.g. ssm: references)')
    _lines(settings)
