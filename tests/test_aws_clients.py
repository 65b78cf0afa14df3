"""The boto3 clients chalicelib/aws.py makes: SSM and Secrets Manager from the trimmed models, and the
objects a client is made of left out of garbage collection in Lambda."""
import gc
import json

import pytest

from chalicelib import aws
from deploy import aws_models


def test_the_trimmed_models_are_the_installed_botocores_cut_to_the_calls_paygate_makes():
    for path, model in aws_models.models().items():
        assert json.loads((aws.MODELS / path).read_text(encoding='utf-8')) == model, \
            f'{path} is stale: run python -m deploy.aws_models'


@pytest.mark.parametrize('service, operations', [('ssm', {'GetParameters', 'GetParameter'}),
                                                 ('secretsmanager', {'GetSecretValue'})])
def test_settings_clients_know_only_the_calls_paygate_makes(service, operations):
    assert set(aws.client(service).meta.service_model.operation_names) == operations


def test_a_client_made_in_lambda_leaves_its_objects_frozen_and_collection_on(monkeypatch):
    monkeypatch.setenv('AWS_LAMBDA_FUNCTION_NAME', 'paygate-test-notify_codepay')
    aws.reset()
    try:
        aws.client('dynamodb')
        assert gc.get_freeze_count() > 10000 and gc.isenabled()
    finally:
        gc.unfreeze()


def test_outside_lambda_nothing_is_frozen():
    aws.reset()
    aws.client('dynamodb')
    assert gc.get_freeze_count() == 0 and gc.isenabled()
