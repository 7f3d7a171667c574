"""The token signing keys, from SSM Parameter Store (SecureString) through Powertools
Parameters, cached for five minutes per execution environment.

The parameter holds the key set (tokens.KeySet: JSON with the current key and at most one
previous key, or a bare secret as before key ids); a rotation (scripts/create_token_key.py)
rewrites it, and every function signs with the new key within the cache's five minutes while
still verifying links signed with the previous one.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ..tokens import KeySet, KeySetError
from .aws import client

CACHE_SECONDS = 300


@lru_cache(maxsize=1)
def _provider() -> Any:
    # One provider per process: Powertools caches values per provider instance, so a new
    # provider per call would read SSM on every message.
    from aws_lambda_powertools.utilities import parameters

    return parameters.SSMProvider(boto3_client=client("ssm"))


def token_keys(parameter_name: str) -> KeySet:
    """The key set in ``parameter_name``; RuntimeError when it is empty or malformed (a
    deployment fault, not a client's)."""
    value = _provider().get(parameter_name, decrypt=True, max_age=CACHE_SECONDS)
    try:
        return KeySet.parse(str(value or ""))
    except KeySetError as exc:
        raise RuntimeError(f"token signing key parameter is unusable: {exc}") from exc


def reset() -> None:
    """Forget the provider and its cache (tests that switch accounts)."""
    _provider.cache_clear()
