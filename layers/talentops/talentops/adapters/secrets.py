"""The token signing key, from SSM Parameter Store (SecureString) through Powertools
Parameters, cached for five minutes per execution environment."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from .aws import client


@lru_cache(maxsize=1)
def _provider() -> Any:
    # One provider per process: Powertools caches values per provider instance, so a new
    # provider per call would read SSM on every message.
    from aws_lambda_powertools.utilities import parameters

    return parameters.SSMProvider(boto3_client=client("ssm"))


def token_key(parameter_name: str) -> bytes:
    value = _provider().get(parameter_name, decrypt=True, max_age=300)
    if not value:
        raise RuntimeError("token signing key parameter is empty")
    return str(value).encode()


def reset() -> None:
    """Forget the provider and its cache (tests that switch accounts)."""
    _provider.cache_clear()
