#!/usr/bin/env bash
# Re-make the demo models shipped in napari_mg3d/demo_model/ from seed 0 with the project's own
# commands (mg3d synth, mg3d pretrain, mg3d finetune seg): about 50 minutes on a 2-core CPU.
# recipe.json records what made them; a remake by the same code and torch says whether its bytes
# are the shipped ones ("same_bytes_as_before").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m napari_mg3d.demo_make "$@"
