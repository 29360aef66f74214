"""The main job: napari with a case and its widgets; headless, screenshots and a JSON summary."""

from __future__ import annotations

import json
from pathlib import Path


def run_demo(out: str = "mg3d-demo", screenshot: bool = False, volume: str | None = None) -> int:
    import napari

    from .widgets.case import CaseWidget

    viewer = napari.Viewer(title="napari-mg3d demo", show=True)
    if volume:
        layers = viewer.open(volume, plugin="napari-mg3d")
    else:
        layers = viewer.open_sample("napari-mg3d", "synthetic_chest_ct")
    case = CaseWidget(viewer)
    viewer.window.add_dock_widget(case, name="Case", area="right")
    image = next((layer for layer in viewer.layers if layer._type_string == "image"), None)
    if image is not None:
        viewer.dims.set_point(0, _middle_world_z(image))
    if not screenshot:
        napari.run()
        return 0
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    from qtpy.QtWidgets import QApplication

    for _ in range(5):
        QApplication.processEvents()
    viewer.screenshot(str(folder / "viewer.png"), canvas_only=False)
    viewer.screenshot(str(folder / "canvas.png"), canvas_only=True)
    case.grab().save(str(folder / "case_widget.png"))
    summary = {
        "layers": [{"name": layer.name, "type": layer._type_string, "shape": list(layer.data.shape)}
                   for layer in viewer.layers],
        "sentences": [s.text for s in case.sentences],
        "screenshots": ["viewer.png", "canvas.png", "case_widget.png"],
        "opened": len(layers or []),
    }
    (folder / "summary.json").write_text(json.dumps(summary, indent=2))
    viewer.close()
    print(f"wrote {', '.join(summary['screenshots'])} and summary.json to {folder}")
    return 0


def _middle_world_z(layer) -> float:
    """World z of the layer's middle slice."""
    return float(layer.data_to_world([s / 2 for s in layer.data.shape])[0])
