"""The main job: napari with a case and a ready model, and the MG-3D widgets showing where a report
sentence points, the findings the model sees, similar cases, the segmentation and its 3D view.
With ``screenshot`` (no display: under Xvfb) the same flow runs, then writes a screenshot of the
viewer and of each widget and a JSON summary."""

from __future__ import annotations

import json
import time
from pathlib import Path

WIDGETS = ("Model", "Case", "Findings", "Similar cases", "Segmentation", "Training", "3D view")


def run_demo(out: str = "mg3d-demo", screenshot: bool = False, volume: str | None = None,
             retrain: bool = False) -> int:
    from .demo_assets import prepare

    assets = prepare(retrain=retrain)
    import napari

    viewer = napari.Viewer(title="napari-mg3d demo", show=True)
    _fit_to_screen(viewer.window._qt_window)
    case = assets["case"]
    viewer.open(volume or case["volume"], plugin="napari-mg3d")
    widgets = _dock_widgets(viewer, assets)
    _run_flow(viewer, widgets, assets, volume is None)
    if not screenshot:
        napari.run()
        return 0
    _wait_idle(widgets, timeout=600)
    summary = _write_screenshots(viewer, widgets, assets, Path(out), volume is None)
    viewer.close()
    print(f"wrote {', '.join(summary['screenshots'])} and summary.json to {out}")
    return 0


def _fit_to_screen(window, most=(1600, 1000)) -> None:
    """The window as large as the screen shows it (at most ``most``): napari's own first size
    (about 1090 x 630) leaves the docks too narrow for a report and its findings."""
    screen = window.screen().availableGeometry()
    window.resize(min(most[0], screen.width()), min(most[1], screen.height()))
    window.move(screen.x(), screen.y())


def _dock_widgets(viewer, assets) -> dict:
    from .demo_assets import DemoSize
    from .widgets.case import CaseWidget
    from .widgets.findings import FindingsWidget
    from .widgets.model import ModelWidget
    from .widgets.segmentation import SegmentationWidget
    from .widgets.similar import SimilarWidget
    from .widgets.training import TrainingWidget

    made = {"Model": ModelWidget(viewer), "Case": CaseWidget(viewer), "Findings": FindingsWidget(viewer),
            "Similar cases": SimilarWidget(viewer), "Segmentation": SegmentationWidget(viewer),
            "Training": TrainingWidget(viewer)}
    try:
        from .widgets.view3d import View3DWidget

        made["3D view"] = View3DWidget(viewer)
    except Exception as exc:  # no OpenGL for VTK here: the rest of the demo goes on
        from napari.utils.notifications import show_warning

        show_warning(f"3D view unavailable: {exc}")
    # the report on top on the right; the other widgets as tabs below it, findings in front
    viewer.window.add_dock_widget(made["Case"], name="Case", area="right")
    first = None
    for name in ("Model", "Training", "Segmentation", "3D view", "Similar cases", "Findings"):
        if name in made:
            dock = viewer.window.add_dock_widget(made[name], name=name, area="right", tabify=first is not None)
            first = first or dock
    # the right docks a third of the window: the report's sentences and the findings' words unclipped
    from qtpy.QtCore import Qt

    window = viewer.window._qt_window
    window.resizeDocks([first], [max(440, window.width() // 3)], Qt.Orientation.Horizontal)
    made["Similar cases"].library.setText(str(assets["library"]))
    made["Segmentation"].path.setText(str(assets["segmenter"]))
    training = made["Training"]
    training.manifest.setText(str(assets["manifest"]))
    training.kind.setCurrentText("pretrain")
    training.steps.setValue(DemoSize.from_env().pretrain_steps)
    training.batch.setValue(8)
    # the run that made the model when it was made here; a new run's folder in the cache otherwise
    # (never the package's own folder)
    training.out.setText(str(Path(assets["folder"]) / "runs" / "pretrain") if assets.get("shipped")
                         else str(Path(assets["model"]).parent))
    return made


def _run_flow(viewer, widgets, assets, synthetic: bool) -> None:
    """Load the model; once loaded: map the finding's sentence, find, search, segment, 3D."""
    model, case = widgets["Model"], widgets["Case"]
    model.path.setText(str(assets["model"]))
    finding = assets["case"]["finding"].replace("_", " ") if synthetic else None

    def after_load(_loaded):
        model.session.model_changed.disconnect(after_load)
        item = _sentence_item(case, finding)
        if item is not None:
            case.sentence_list.setCurrentItem(item)
        widgets["Findings"].run()
        widgets["Similar cases"].search()
        widgets["Segmentation"].run()

    model.session.model_changed.connect(after_load)
    model.load()
    if "3D view" in widgets:
        def when_segmented(event=None):
            names = [la.name for la in viewer.layers]
            if any(n.endswith("segmentation") for n in names) and not widgets["3D view"].taskbar.busy():
                viewer.layers.events.inserted.disconnect(when_segmented)
                from qtpy.QtCore import QTimer

                # the organs in 3D (not the outline, the newest labels layer); in 2D under the heatmap
                segmentation = viewer.layers[next(n for n in names if n.endswith("segmentation"))]
                widgets["3D view"].labels_box.setCurrentText(segmentation.name)
                segmentation.opacity = 0.3
                viewer.layers.move(viewer.layers.index(segmentation), 1)

                QTimer.singleShot(200, widgets["3D view"].build)

        viewer.layers.events.inserted.connect(when_segmented)


def _sentence_item(case, finding: str | None):
    """The list item of the first sentence stating ``finding`` present (else the first sentence)."""
    from .widgets.case import SENTENCE_ROLE

    items = [case.sentence_list.item(i) for i in range(case.sentence_list.count())]
    items = [it for it in items if it.data(SENTENCE_ROLE) is not None]
    for it in items:
        s = case.sentences[int(it.data(SENTENCE_ROLE))]
        if finding and any(f.status == "present" and finding in f.name.lower() for f in s.findings):
            return it
    return items[0] if items else None


def _wait_idle(widgets, timeout: float) -> None:
    from qtpy.QtWidgets import QApplication

    start = time.monotonic()
    settle = None
    while time.monotonic() - start < timeout:
        QApplication.processEvents()
        busy = any(getattr(w, "taskbar", None) is not None and w.taskbar.busy() for w in widgets.values())
        loaded = widgets["Model"].session.loaded is not None
        done3d = "3D view" not in widgets or widgets["3D view"].meshes
        if loaded and not busy and done3d:
            settle = settle or time.monotonic()
            if time.monotonic() - settle > 1.0:
                return
        else:
            settle = None
        time.sleep(0.02)
    raise TimeoutError("the demo's analyses did not finish in time")


def _write_screenshots(viewer, widgets, assets, folder: Path, synthetic: bool) -> dict:
    import numpy as np
    from qtpy.QtWidgets import QApplication

    folder.mkdir(parents=True, exist_ok=True)
    for _ in range(10):
        QApplication.processEvents()
    shots = {"viewer.png": lambda p: viewer.screenshot(str(p), canvas_only=False),
             "canvas.png": lambda p: viewer.screenshot(str(p), canvas_only=True)}
    docks = viewer.window._wrapped_dock_widgets

    def front(name):
        """A tabbed dock's widget is laid out at the dock's size only once its tab is in front."""
        if name in docks:
            docks[name].raise_()
        for _ in range(10):
            QApplication.processEvents()

    for name, widget in widgets.items():
        file = name.lower().replace(" ", "_") + "_widget.png"
        if name == "3D view":
            shots[file] = lambda p, w=widget, n=name: (front(n), w.screenshot(str(p), size=(720, 540)))
        else:
            shots[file] = lambda p, w=widget, n=name: (front(n), w.grab().save(str(p)))
    for file, take in shots.items():
        take(folder / file)
    front("Findings")
    heat = next((la for la in viewer.layers if la.metadata.get("mg3d_kind") == "attention"), None)
    summary = {
        "case": assets["case"]["id"] if synthetic else None,
        "finding": assets["case"]["finding"] if synthetic else None,
        "model": str(assets["model"]),
        "layers": [{"name": la.name, "type": la._type_string, "shape": list(la.data.shape)} for la in viewer.layers],
        "sentences": [s.text for s in widgets["Case"].sentences],
        "attention": {"text": heat.metadata.get("text"), "peak_index_zyx": heat.metadata.get("peak_index_zyx")}
        if heat is not None else None,
        "findings": dict(sorted(widgets["Findings"].results.items(), key=lambda kv: -kv[1])),
        "not_learnt": widgets["Findings"].not_learnt,  # labels shown with no probability
        "similar": [{"case": h.case_id, "score": round(h.score, 4)} for h in widgets["Similar cases"].hits],
        "segmentation": widgets["Segmentation"].info.text().split("<br>"),
        "screenshots": list(shots),
    }
    if synthetic and heat is not None and heat.metadata.get("peak_index_zyx"):
        from .io.volume import read_volume

        mask = read_volume(assets["case"]["mask"]).array
        summary["attention"]["peak_in_finding"] = bool(mask[tuple(heat.metadata["peak_index_zyx"])])
        summary["attention"]["finding_fraction"] = float(np.mean(mask > 0))
    (folder / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
