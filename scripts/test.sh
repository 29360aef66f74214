#!/usr/bin/env bash
# Set up (scripts/setup.sh), then run the whole test suite; pytest-xvfb gives Qt a virtual X server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
