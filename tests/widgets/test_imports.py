import subprocess
import sys

WIDGETS = ("model", "case", "findings", "similar", "segmentation", "training", "view3d")
HEAVY = ("torch", "transformers", "pyvista", "lightning", "monai", "faiss")


def test_widget_modules_import_no_torch_pyvista_or_lightning():
    """The viewer opens a widget without loading the heavy libraries; they come with the work."""
    code = "import sys\n" + "".join(f"import napari_mg3d.widgets.{m}\n" for m in WIDGETS)
    code += f"print([m for m in {HEAVY!r} if m in sys.modules])\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
