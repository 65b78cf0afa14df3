"""Packaging Paygate for AWS: one Lambda function per endpoint group, least-privilege
roles, and the DynamoDB table and SQS queues, in one CloudFormation (SAM) template.

`make package STAGE=prod` runs `python -m deploy.package`. Nothing here is deployed.
"""
