#!/usr/bin/env bash
# One command: install what the tests need, build the test guest (cached), run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
images/build.sh >/dev/null
# Two workers, each given whole files (--dist loadfile), so a module's daemon and shared guests are made once: a
# TCG guest keeps one core busy while the other runs the API tests. NODECOMPUTE_TEST_WORKERS=0 runs in one process.
exec .venv/bin/pytest -n "${NODECOMPUTE_TEST_WORKERS:-2}" --dist loadfile --no-loadscope-reorder "$@"
