#!/usr/bin/env bash
# Set up a fresh Debian/Ubuntu machine (as root, or with sudo): system packages for headless Qt and
# OpenGL, a virtual environment in .venv, torch pinned first (a CPU wheel where one is provided), then
# napari-mg3d with its GUI and development extras. Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${MG3D_VENV:-.venv}"
PY="${PYTHON:-python3}"
TORCH="${MG3D_TORCH:-torch==2.13.0}"

pkgs=(xvfb xauth libgl1 libegl1 libglib2.0-0 libfontconfig1 libdbus-1-3 libxkbcommon0 libxkbcommon-x11-0
      libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0
      libxcb-shape0 libxcb-xfixes0 libxcb-xinerama0 libxcb-xkb1 libxrender1 libxi6)
missing=()
if command -v dpkg >/dev/null; then
  for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  "$PY" -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)
fi
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  echo "setup: installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
pip=("$VENV/bin/python" -m pip install -q --disable-pip-version-check)
"$VENV/bin/python" -c "import torch" 2>/dev/null || "${pip[@]}" "$TORCH" 2>&1 | grep -v "^WARNING: Location" || true
# -W ignore: torch warns that numpy, installed next, is not there yet
"$VENV/bin/python" -W ignore -c "import torch" || { echo "setup: torch did not install" >&2; exit 1; }
"${pip[@]}" -e ".[gui,dev]" 2>&1 | grep -v "^WARNING: Location" || true
"$VENV/bin/python" -c "import napari_mg3d, napari, SimpleITK" || { echo "setup: napari-mg3d did not install" >&2; exit 1; }
