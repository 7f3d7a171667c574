#!/usr/bin/env bash
# Prints the path of a python3.13 interpreter (the Lambda runtime's version), or fails.
# Looks on PATH first, then in pyenv's versions.
set -u
# A pyenv shim is on PATH even when 3.13 is not selected: check that it runs.
if command -v python3.13 >/dev/null 2>&1 && python3.13 -c "" >/dev/null 2>&1; then
  command -v python3.13; exit 0
fi
if command -v pyenv >/dev/null 2>&1; then
  for p in "$(pyenv root)"/versions/3.13*/bin/python3.13; do
    [ -x "$p" ] && { echo "$p"; exit 0; }
  done
fi
for p in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3.13; do
  [ -x "$p" ] && { echo "$p"; exit 0; }
done
exit 1
