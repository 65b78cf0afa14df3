"""`paygate trigger`: send Paygate a provider's real, correctly signed notification."""
import json
import secrets

import click

from paygate_cli import output, signers
from paygate_cli.client import segment
from paygate_cli.errors import UsageProblem
from paygate_cli.fields import tampered


@click.command()
@click.argument('provider', type=click.Choice(signers.PROVIDERS))
@click.argument('state')
@click.argument('target', required=False)
@click.option('--amount', type=click.IntRange(min=1), metavar='FEN',
              help='paid: the amount notified (default the order\'s); refunded: the refund '
                   '(default what is left of the order).')
@click.option('--refund-no', help='refunded: the refund number (default a new one; name a refund '
                                  'asked for with `orders refund` to complete it).')
@click.option('--version', type=click.Choice(('v2', 'v3')),
              help="WeChat Pay: the API version (default the order's).")
@click.option('--trial', is_flag=True, help='cloudmarket createInstance: a trial (7 days).')
@click.option('--tamper', metavar='FIELD[=VALUE]',
              help='After signing, change one field (a little, or to VALUE): see Paygate refuse it.')
@click.option('--duplicate', type=click.IntRange(min=0), default=0, metavar='N',
              help='Send the same bytes N more times, as providers retry.')
@click.option('--explain', is_flag=True, help='Also print the text the signature covers.')
@click.pass_obj
def trigger(ctx, provider, state, target, amount, refund_no, version, trial, tamper, duplicate, explain):
    """Send Paygate the notification PROVIDER sends when an order is paid, refunded or closed
    (TARGET: the order id), or a Cloud Marketplace action (TARGET: the instance's signId).

    \b
    paygate trigger codepay|alipay|wechatpay|midas paid ORDER_ID
    paygate trigger alipay|wechatpay refunded ORDER_ID [--amount FEN]
    paygate trigger alipay closed ORDER_ID
    paygate trigger cloudmarket createInstance [--trial]
    paygate trigger cloudmarket renewInstance|modifyInstance|expireInstance|destroyInstance SIGN_ID

    Exit status 0 when Paygate accepts it, 1 when it refuses it.
    """
    signer = signers.load(provider)
    _check_options(provider, signer, state, amount, version, trial)
    paygate = ctx.paygate()
    subject = _subject(paygate, signer, provider, target)
    options = signers.Options(amount=amount, version=version, trial=trial, paygate_path=ctx.paygate_path,
                              refund_no=refund_no or 'cli' + secrets.token_hex(8))
    prepared = signer.build(subject, state, ctx.settings(), options)
    fields = tampered(prepared.fields, tamper) if tamper else prepared.fields
    outgoing = prepared.render(fields)
    answers = [paygate.send(outgoing) for _ in range(1 + duplicate)]
    changed = tamper.partition('=')[0] if tamper else None
    report = {'notification': prepared.description, 'method': outgoing.method,
              'url': outgoing.url(paygate.url), 'fields': fields, 'encrypted': prepared.encrypted,
              'signed_over': prepared.signed_over, 'tampered': {changed: fields[changed]} if changed else None,
              'answers': [{'status': a.status, 'body': a.body, 'accepted': signer.accepted(a)} for a in answers],
              signer.SUBJECT: _after(paygate, signer, subject, answers[0])}
    if ctx.json:
        output.as_json(report)
    else:
        _show(report, explain, signer.SUBJECT)
    if not all(answer['accepted'] for answer in report['answers']):
        raise click.exceptions.Exit(1)


def _check_options(provider, signer, state, amount, version, trial):
    if state not in signer.STATES:
        raise UsageProblem(f'{provider} sends no {state!r} notification; it sends {", ".join(signer.STATES)}')
    if version and provider != 'wechatpay':
        raise UsageProblem('--version is for wechatpay')
    if trial and state != 'createInstance':
        raise UsageProblem('--trial is for cloudmarket createInstance')
    if amount is not None and state not in ('paid', 'refunded'):
        raise UsageProblem(f'--amount is for paid and refunded notifications, not {state}')


def _subject(paygate, signer, provider, target):
    """The order (or marketplace instance) the notification is about, as Paygate shows it."""
    if signer.SUBJECT == 'instance':
        return paygate.call('GET', f'/instances/{segment(target)}') if target else None
    if not target:
        raise UsageProblem(f'give the order id: paygate trigger {provider} STATE ORDER_ID')
    order = paygate.call('GET', f'/orders/{segment(target)}')
    if order.get('provider') != provider:
        raise UsageProblem(f'order {target} is a {order.get("provider")} order, not {provider}')
    return order


def _after(paygate, signer, subject, answer):
    """The order or instance after the notification (a new instance: the one Paygate answered)."""
    if signer.SUBJECT == 'order':
        return paygate.call('GET', f'/orders/{segment(subject["order_id"])}')
    sign_id = subject['sign_id'] if subject else _created_sign_id(answer)
    return paygate.call('GET', f'/instances/{segment(sign_id)}') if sign_id else None


def _created_sign_id(answer):
    try:
        return json.loads(answer.body).get('signId')
    except (ValueError, AttributeError):
        return None


def _show(report, explain, subject_name):
    output.heading(f'{report["notification"]}: {report["method"]} {report["url"]}')
    output.pairs(report['fields'], indent='  ')
    if report['encrypted']:
        click.echo('  encrypted in it:')
        output.pairs(report['encrypted'], indent='    ')
    if report['tampered']:
        ((name, value),) = report['tampered'].items()
        click.echo(click.style(f'  tampered after signing: {name} = {value}', fg='yellow'))
    if explain:
        click.echo(f'  signed over: {report["signed_over"]}')
    for answer in report['answers']:
        verdict = 'accepted' if answer['accepted'] else 'refused'
        click.echo(f'{output.mark(answer["accepted"])} Paygate answered {answer["status"]} '
                   f'{answer["body"] or "(empty)"}  ({verdict})')
    after = report[subject_name]
    if subject_name == 'order':
        refunded = f', {after["refunded_amount"]} of {after["amount"]} fen refunded' if after['refunded_amount'] else ''
        click.echo(f'order {after["order_id"]} is now {output.coloured(after["status"])}{refunded}')
    elif after:
        click.echo(f'instance {after["sign_id"]} is {output.coloured(after["status"])}, '
                   f'expires {after["expires_at"]}')
