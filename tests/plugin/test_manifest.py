import subprocess
import sys


def test_npe2_manifest_is_valid():
    result = subprocess.run(
        [sys.executable, "-m", "npe2", "validate", "napari-mg3d"], capture_output=True, text=True, encoding="utf-8", errors="replace"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid" in result.stdout
