#!/usr/bin/env bash
# Regenerate requirements.txt / requirements-dev.txt (exact pins + sha256 hashes for
# every wheel of every platform) from the .in files, with uv in a throw-away venv.
#   bash facts-worker/lock.sh            keep current pins where still allowed
#   bash facts-worker/lock.sh --upgrade  move everything to the newest versions
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
UV_VERSION=0.13.9
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
python3 -m venv "$tools/venv"
"$tools/venv/bin/pip" install -q "uv==$UV_VERSION"
compile() { # in out
  "$tools/venv/bin/uv" pip compile "$1" -o "$2" --universal --python-version 3.11 --generate-hashes \
    --excludes excludes.txt --no-strip-markers --custom-compile-command "bash facts-worker/lock.sh" "${@:3}"
}
compile requirements.in requirements.txt "$@"
compile requirements-dev.in requirements-dev.txt "$@"
