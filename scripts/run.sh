#!/usr/bin/env bash
# One command: install what is needed, then run the daemon on its embedded defaults (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/nodecompute serve "$@"
