"""The token signing key, from SSM Parameter Store (SecureString) through Powertools
Parameters, cached for five minutes."""

from __future__ import annotations

from .aws import client


def token_key(parameter_name: str) -> bytes:
    from aws_lambda_powertools.utilities import parameters

    provider = parameters.SSMProvider(boto3_client=client("ssm"))
    value = provider.get(parameter_name, decrypt=True, max_age=300)
    if not value:
        raise RuntimeError("token signing key parameter is empty")
    return str(value).encode()
