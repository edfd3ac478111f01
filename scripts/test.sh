#!/usr/bin/env bash
# One command: install what the tests need, build the test guest (cached), run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
images/build.sh >/dev/null
exec .venv/bin/pytest "$@"
