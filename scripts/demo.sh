#!/usr/bin/env bash
# Set up (scripts/setup.sh); make the demo model once (cached; progress on the terminal); then open
# napari with a held-out case, the model loaded and every MG-3D widget showing its analysis.
# With no display, run the same flow under Xvfb and write screenshots and a JSON summary to
# ${MG3D_DEMO_OUT:-mg3d-demo}/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -n "${DISPLAY:-}" ] && [ -z "${MG3D_HEADLESS:-}" ]; then
  exec .venv/bin/mg3d demo "$@"
fi
exec xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/mg3d demo --screenshot --out "${MG3D_DEMO_OUT:-mg3d-demo}" "$@"
