#!/usr/bin/env bash
# Set up (scripts/setup.sh), then run the whole test suite; pytest-xvfb gives Qt a virtual X server.
# Two worker processes (MG3D_TEST_WORKERS; 1 runs in one process), each test module on one of them
# (its fixtures made once), each with one torch thread: two workers of two threads each on two
# cores spend their time waiting for each other.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
workers="${MG3D_TEST_WORKERS:-2}"
if [ "$workers" -gt 1 ]; then
  export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" MKL_NUM_THREADS="${MKL_NUM_THREADS:-1}"
  exec .venv/bin/python -m pytest -n "$workers" --dist loadscope "$@"
fi
exec .venv/bin/python -m pytest "$@"
