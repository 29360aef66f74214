#!/usr/bin/env bash
# Set up (scripts/setup.sh), then run the whole test suite; pytest-xvfb gives Qt a virtual X server.
# Two worker processes (MG3D_TEST_WORKERS), each test module on one of them (its fixtures made once).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest -n "${MG3D_TEST_WORKERS:-2}" --dist loadscope "$@"
