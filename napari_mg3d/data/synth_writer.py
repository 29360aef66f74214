"""``mg3d synth``: write synthetic cases to a folder, with a manifest, a label table and masks."""

from __future__ import annotations

import csv
import importlib
import json
import sys
from pathlib import Path

from ..io.atomic import atomic_path
from ..io.writer import write_volume

SPLITS = (("train", 0.8), ("val", 0.1), ("test", 0.1))
# generator families, written apart (anatomy, intensities, wording): train on one, test on the other
FAMILIES = {"a": ("napari_mg3d.data.synthetic", "synth"), "b": ("napari_mg3d.data.phantom_b", "phantomb")}
# what supervision the manifest gives beside the reports: each finding's mask (``regions``), the
# organ label map (``organs``, ``organ_names``), both, neither, or case by case in turn
SUPERVISION = ("all", "findings", "organs", "reports", "mixed")


def split_of(i: int, n: int) -> str:
    """Deterministic: the first 80% train, the next 10% val, the rest test."""
    edge = 0.0
    for name, fraction in SPLITS:
        edge += fraction
        if i < round(edge * n):
            return name
    return SPLITS[-1][0]


def _split(i: int, n: int, train_from: int | None) -> str:
    """The split of the i-th of n cases: ``split_of``, or training beyond ``train_from``."""
    if train_from is None:
        return split_of(i, n)
    return split_of(i, train_from) if i < train_from else "train"


def case_id(seed: int, i: int, family: str = "a") -> str:
    """The id (and file stem) of the i-th case that ``write_synthetic`` writes for ``seed``."""
    return f"{FAMILIES[family][1]}-{seed:05d}-{i:05d}"


def family_module(family: str):
    """The generator module of a family (``make_case``, ``CT_RATE_LABEL``, ``ORGANS``)."""
    if family not in FAMILIES:
        raise ValueError(f"unknown generator family {family!r}; choose one of {', '.join(FAMILIES)}")
    return importlib.import_module(FAMILIES[family][0])


def grid_spacing(shape) -> tuple[float, float, float]:
    """(x, y, z) mm of a (z, y, x) grid: the same field of view (about 350 x 350 x 320 mm) at any
    grid, smaller grids with coarser voxels."""
    return tuple(s * d / n_ for s, d, n_ in zip((2.75, 2.75, 5.0), (128, 128, 64), shape[::-1]))


def code_signature(family: str = "a") -> str:
    """16 hex digits of the family's generator code (its module and the modules named after it):
    cases made by other code are other cases."""
    import hashlib

    module = Path(family_module(family).__file__)
    files = sorted(module.parent.glob(module.stem.split("_")[0] + "*.py"))
    return hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()[:16]


def write_synthetic(out: str | Path, n: int, seed: int = 0, shape=(64, 128, 128), progress=None,
                    split: str | None = None, family: str = "a", supervision: str = "all",
                    train_from: int | None = None) -> Path:
    """Cases ``synth-SSSSS-IIIII`` (``phantomb-...`` for family b: volume, report, organ labels, one
    mask per finding), a manifest (manifest.csv, whose ``regions`` name each finding's mask by its
    CT-RATE label and ``organs`` the organ label map, named in organs.json, as ``supervision``
    says) and the 18-label table (labels.csv, CT-RATE header). Deterministic by seed and family.
    ``split`` puts every case in one split; by default 80% train, 10% val, 10% test; with
    ``train_from``, the first ``train_from`` cases are split as ``train_from`` cases would be and
    those after them are all training cases (more to train on, the same held-out cases)."""
    from ..knowledge.labels import CT_RATE_LABELS

    if supervision not in SUPERVISION:
        raise ValueError(f"unknown supervision {supervision!r}; choose one of {', '.join(SUPERVISION)}")
    generator = family_module(family)
    make_case, CT_RATE_LABEL = generator.make_case, generator.CT_RATE_LABEL
    out = Path(out)
    cases_dir = out / "cases"
    cases_dir.mkdir(parents=True, exist_ok=True)
    (out / "organs.json").write_text(json.dumps({str(k): v for k, v in generator.ORGANS.items()}, indent=1))
    kinds = ("findings", "organs", "reports") if supervision == "mixed" else None
    rows, label_rows = [], []
    spacing = grid_spacing(shape)
    for i in range(n):
        case = make_case(seed * 100_000 + i, shape=shape, spacing_xyz=spacing)
        cid = case_id(seed, i, family)
        kind = kinds[i % 3] if kinds else supervision
        base = cases_dir / cid
        write_volume(f"{base}.nii.gz", case.image, case.geometry)
        write_volume(f"{base}_organs.nii.gz", case.organs, case.geometry)
        masks = {}
        for finding, mask in case.findings.items():
            write_volume(f"{base}_{finding}.nii.gz", mask.astype("uint8"), case.geometry)
            masks[finding] = f"cases/{cid}_{finding}.nii.gz"
        Path(f"{base}.txt").write_text(case.report + "\n", encoding="utf-8")
        labels = {label: case.labels.get(label, 0) for label in CT_RATE_LABELS}
        rows.append({
            "id": cid, "volume": f"cases/{cid}.nii.gz", "report": f"cases/{cid}.txt",
            "labels": json.dumps(labels), "segmentation": f"cases/{cid}_organs.nii.gz", "split": split or _split(i, n, train_from),
            "findings": json.dumps({f: {"mask": masks[f], **case.details[f]} for f in masks}),
            "regions": json.dumps({CT_RATE_LABEL[f]: masks[f] for f in masks}) if kind in ("all", "findings") else "",
            "organs": f"cases/{cid}_organs.nii.gz" if kind in ("all", "organs") else "",
            "organ_names": "organs.json" if kind in ("all", "organs") else "",
        })
        label_rows.append({"VolumeName": f"{cid}.nii.gz", **labels})
        if progress is not None:
            progress(i + 1, n)
    _write_csv(out / "manifest.csv", rows)
    _write_csv(out / "labels.csv", label_rows)
    return out / "manifest.csv"


def _write_csv(path: Path, rows: list[dict]) -> None:
    with atomic_path(path, ".csv") as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def stderr_progress(done: int, total: int) -> None:
    if done == total or done % max(1, total // 20) == 0:
        print(f"\r{done}/{total} cases", end="\n" if done == total else "", file=sys.stderr, flush=True)
