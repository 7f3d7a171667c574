"""Create the token signing key in SSM Parameter Store (SecureString), once per environment.

Usage: ENV=dev python scripts/create_token_key.py  (the parameter name follows samconfig.toml)
Refuses to overwrite an existing key: rotating it invalidates every link already sent.
"""

from __future__ import annotations

import os
import secrets
import sys

import boto3

NAMES = {"dev": "/talentops/dev/token-key", "prod": "/talentops/prod/token-key"}


def main() -> int:
    env = os.environ.get("ENV", "dev")
    name = os.environ.get("TOKEN_KEY_PARAMETER", NAMES.get(env, ""))
    if not name:
        print(f"unknown ENV {env!r}; set TOKEN_KEY_PARAMETER", file=sys.stderr)
        return 2
    ssm = boto3.client("ssm")
    try:
        ssm.put_parameter(
            Name=name,
            Value=secrets.token_hex(32),
            Type="SecureString",
            Overwrite=False,
            Description="talentops link token signing key",
        )
    except ssm.exceptions.ParameterAlreadyExists:
        print(f"{name} exists already; left unchanged")
        return 0
    print(f"created {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
