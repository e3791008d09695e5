#!/usr/bin/env bash
# pytest for the facts-worker in its own virtualenv (created/synced on demand).
#   bash facts-worker/test.sh [pytest args...]     (default: every test in facts-worker/tests)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VENV=$(bash "$HERE/service.sh" venv)
cd "$HERE"
[[ $# -gt 0 ]] || set -- tests
exec env HF_HUB_OFFLINE=1 "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"
