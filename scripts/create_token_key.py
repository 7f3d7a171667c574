"""Create, rotate or retire the token signing keys in SSM Parameter Store (SecureString).

Usage (the parameter name follows samconfig.toml; TOKEN_KEY_PARAMETER overrides it):

  ENV=dev python scripts/create_token_key.py             create the key set (once); an
                                                          existing one is left unchanged
  ENV=dev ROTATE=1 python scripts/create_token_key.py    a new current key; the current key
                                                          becomes the previous one and still
                                                          verifies the links already sent
  ENV=dev RETIRE=1 python scripts/create_token_key.py    drop the previous key: links signed
                                                          with it stop working (401)

The parameter holds JSON ``{"current": "<kid>", "keys": {"<kid>": "<secret>", ...}}`` (see
talentops/tokens.py); a parameter that holds a bare secret (created before key ids) is that
secret as key ``k0``, which also verifies the ``v1`` tokens issued before key ids. A rotation
keeps at most two keys: rotating twice before links signed with the oldest have expired ends
them. Nothing secret is printed.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import Any

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers" / "talentops"))

from talentops.tokens import KeySet, KeySetError

NAMES = {"dev": "/talentops/dev/token-key", "prod": "/talentops/prod/token-key"}
DESCRIPTION = "talentops link token signing keys (current and previous)"


def new_secret() -> bytes:
    return secrets.token_hex(32).encode()


def _flag(env: dict[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in ("1", "true", "yes")


def _read(ssm: Any, name: str) -> KeySet | None:
    try:
        value = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        return None
    return KeySet.parse(value)


def _write(ssm: Any, name: str, keys: KeySet, *, overwrite: bool) -> None:
    ssm.put_parameter(
        Name=name,
        Value=keys.dump(),
        Type="SecureString",
        Overwrite=overwrite,
        **({} if overwrite else {"Description": DESCRIPTION}),
    )


def run(ssm: Any, name: str, *, rotate: bool = False, retire: bool = False) -> str:
    """Do what was asked; return the line to print (key ids only)."""
    if rotate and retire:
        raise KeySetError("ROTATE and RETIRE are separate steps: rotate, wait, then retire")
    current = _read(ssm, name)
    if current is None:
        if retire:
            return f"{name} does not exist; nothing to retire"
        keys = KeySet.single(new_secret(), "k1")
        try:
            _write(ssm, name, keys, overwrite=False)
        except ssm.exceptions.ParameterAlreadyExists:
            return f"{name} exists already; left unchanged"
        return f"created {name} (current key {keys.current})"
    if rotate:
        keys = current.rotated(new_secret())
        _write(ssm, name, keys, overwrite=True)
        dropped = [kid for kid in current.previous if kid not in keys.keys]
        note = f"; dropped {', '.join(dropped)}" if dropped else ""
        return f"rotated {name}: current key {keys.current}, previous {current.current}{note}"
    if retire:
        if not current.previous:
            return f"{name} has only its current key {current.current}; nothing to retire"
        _write(ssm, name, current.retired(), overwrite=True)
        return f"retired {', '.join(current.previous)} of {name}; current key {current.current}"
    return f"{name} exists already; left unchanged (current key {current.current})"


def main(env: dict[str, str] | None = None) -> int:
    env = dict(os.environ if env is None else env)
    stage = env.get("ENV", "dev")
    name = env.get("TOKEN_KEY_PARAMETER", NAMES.get(stage, ""))
    if not name:
        print(f"unknown ENV {stage!r}; set TOKEN_KEY_PARAMETER", file=sys.stderr)
        return 2
    try:
        line = run(
            boto3.client("ssm"), name, rotate=_flag(env, "ROTATE"), retire=_flag(env, "RETIRE")
        )
    except KeySetError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 2
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
