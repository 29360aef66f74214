"""The inference commands' work, apart from argument parsing: attention maps and zero-shot
findings of one volume with one checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..io.errors import InputError


def attention_to_folder(checkpoint, volume_path, out, report_path=None, texts=(), device="auto",
                        refine: bool = False, masks: bool = False) -> dict:
    """Each map as NIfTI with the volume's geometry and ``attention.json`` indexing them; with
    ``masks``, each map's outline too (``inference.outline``): a uint8 label mask (1 inside) beside
    its map as ``*_mask.nii.gz`` (napari-mg3d opens it as labels), its volume in ml and anatomical
    place in the index."""
    from ..io.report import find_report, read_report
    from ..io.volume import read_volume
    from ..io.writer import write_volume
    from .analysis import attention_maps
    from .encode import check_finite, load_model
    from .familiarity import unfamiliar_line
    from .features import encode_case

    volume = read_volume(volume_path)
    check_finite(volume)  # before the model loads
    report_file = Path(report_path) if report_path else find_report(volume_path)
    report = read_report(report_file) if report_file else ""
    if not report.strip() and not any(t.strip() for t in texts):
        raise InputError("nothing to map: the report is empty (or not found) and no --text was given")
    loaded = load_model(checkpoint, device)
    features = encode_case(loaded, volume)
    maps = attention_maps(loaded, volume, report, texts, refine, features)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    index = []
    if masks:
        from .outline import outlines
        from .outline_quality import earned, named_label

        # the levels and the earned ml are the model's own maps', not Grad-CAM's
        shapes = outlines(maps, volume, None if refine else loaded.outline_levels, loaded.outline_rule)
    for i, (amap, heat) in enumerate(maps, start=1):
        name = f"{'sentence' if amap.source == 'report' else 'text'}_{i:02d}.nii.gz"
        write_volume(out / name, heat, volume.geometry)
        peak = np.unravel_index(int(np.argmax(heat)), heat.shape)  # (z, y, x)
        world = volume.geometry.index_to_world(peak[::-1])
        index.append({"file": name, "text": amap.text, "source": amap.source, "start": amap.start,
                      "end": amap.end, "peak_index_zyx": [int(p) for p in peak],
                      "peak_mm_xyz": [round(float(w), 2) for w in world]})
        if masks:
            mask_name = name.replace(".nii.gz", "_mask.nii.gz")
            write_volume(out / mask_name, shapes[i - 1].mask.astype(np.uint8), volume.geometry)
            ok, why = earned(loaded.outline_quality, named_label(amap.text), refine)
            index[-1]["outline"] = {"file": mask_name, **shapes[i - 1].to_dict(), "ml_earned": ok,
                                    **({} if ok else {"ml_note": why})}
    (out / "attention.json").write_text(json.dumps(index, indent=2))
    return {"out": str(out), "maps": index, "report": str(report_file) if report_file else None,
            "unfamiliar": unfamiliar_line(loaded, volume, features), "checkpoint": loaded.capabilities.to_dict()}


def zeroshot_volume(checkpoint, volume_path, labels_file=None, device="auto") -> dict:
    from ..io.volume import read_volume
    from .analysis import findings
    from .encode import check_finite, load_model
    from .familiarity import unfamiliar_line
    from .features import encode_case

    volume = read_volume(volume_path)
    check_finite(volume)  # before the model loads
    loaded = load_model(checkpoint, device)
    prompt_sets = loaded.prompt_sets(labels_file)
    features = encode_case(loaded, volume)
    probabilities, not_learnt = findings(loaded, volume, prompt_sets, features)
    return {"volume": str(volume_path), "unfamiliar": unfamiliar_line(loaded, volume, features),
            "probabilities": probabilities, "not_learnt": not_learnt,
            "learnt_from": {k: v for k, v in (loaded.learnt or {}).items() if k in probabilities},
            # how the probabilities were calibrated ("" where they were not)
            "calibration": loaded.calibration_line([p.label for p in prompt_sets]),
            "findings_temperature": loaded.findings_temperature,
            "checkpoint": loaded.capabilities.to_dict()}
