import json
import os
import subprocess
import sys

import numpy as np


def test_headless_demo_writes_screenshots_and_summary(tmp_path):
    if not os.environ.get("DISPLAY"):
        import pytest

        pytest.skip("needs an X server (pytest-xvfb provides one)")
    result = subprocess.run(
        [sys.executable, "-m", "napari_mg3d.cli", "demo", "--screenshot", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert [layer["type"] for layer in summary["layers"]] == ["image", "labels"]
    assert summary["sentences"][0] == "Trachea and both main bronchi are open."
    from imageio.v3 import imread

    canvas = imread(tmp_path / "canvas.png")[..., :3].astype(float)
    assert canvas.mean() > 20 and canvas.std() > 20  # drawn, not black
    h, w = canvas.shape[:2]
    centre = canvas[h // 3 : 2 * h // 3, w // 3 : 2 * w // 3]
    assert centre.std() > 20  # the body is in the middle of the view
    assert imread(tmp_path / "case_widget.png").std() > 10
