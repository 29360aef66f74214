"""The pointing game on held-out synthetic cases: does the maximum of a sentence's attention map
fall inside the mask of the finding that sentence names? Against chance: the finding's share of
the volume (where a uniformly random point would fall). Strictly, and within a tolerance (as the
pointing game of Zhang et al. allows): by default one voxel of the model's input grid, the finest
detail the model sees; chance is then the share of the volume within that distance of the mask.
Emphysema and calcification masks are speckles (45% and 8% of their region's voxels): a strict hit
needs the peak on a speckle voxel itself, which the synthetic-tiny grid (5.5 mm in plane, twice the
cases' 2.75 mm, centres on the cases' even voxels) sees, but only through its own intensity (emphysema
-965 HU beside lung at -860, noise 12 HU). Beside the peak, the share of the map's mass inside the
mask (the energy-based pointing game of Score-CAM; chance: the mask's share of the volume, as for a
hit).

The outline (``inference.outline``, the model's own maps only, by the checkpoint's outline rule: the
map alone, or taken on to the image, ``inference.outline_image``; ``--rule``): Dice of the voxels it outlines
against the finding's mask (mean over the finding's sentences; 'all': over every sentence, and the
mean over findings below the table), and the outline's volume in ml against the mask's (medians;
'ml error': the median of |outline - mask| / mask). Beside it, 'dice: grid': the Dice of the mask
itself taken onto the model's grid (as the region objective's target) and back, cut at 0.5: what a
perfect map on that grid would outline (a 0.3 ml nodule is two or three of its voxels). The rule's constant was chosen on seed-0 cases
(the learning bench's training seed); the default seed here, 1, is held out from it.

The sentence naming a finding is found by the report labeller (the sentence whose labels include
the finding's CT-RATE label), not by the synthetic templates. The header says whether the model
saw findings' masks in training (the region term, on the manifest's ``regions``) or report words
only: held-out cases either way, but not the same claim.
Usage: python bench/attention.py CHECKPOINT [--cases 100] [--seed 1] [--tolerance MM]
       [--data /tmp/mg3d-attention-bench] [--fraction F (one outline level for every finding, in the
       rule's unit; default: the levels the run chose per finding, as the viewer outlines, else the
       rule's default, inference.outline.FRACTION or MEAN_LEVEL)]
       [--levels (the run's levels even where it trained the outline term's own cut)]
       [--rule map|map+image|map/mean|map+image/mean (the outline rule; default: the checkpoint's
       outline_rule)]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _table import print_table, synthetic_cases  # noqa: E402


def peak_of(heat: np.ndarray) -> tuple:
    """Where a map is largest: the centre of the voxels at its maximum. An upsampled map is flat
    between its outermost samples and the volume's edge, where the first maximal voxel would be
    the volume's edge, not the sample's place."""
    at_max = np.argwhere(heat >= heat.max())
    return tuple(int(i) for i in np.rint(at_max.mean(0)))


def on_model_grid(mask: np.ndarray, mask_volume, volume, profile) -> np.ndarray:
    """A finding's mask as the model's grid holds it (``profiles.region_profile``: the region
    objective's target) and back on the volume's grid as a map is brought there: its Dice with the
    mask at 0.5 is the best an outline read off the model's grid can reach ('dice: grid')."""
    from napari_mg3d.data.preprocess import preprocess_array
    from napari_mg3d.data.profiles import region_profile
    from napari_mg3d.inference.attention import AttentionMap, on_volume_grid

    grid = preprocess_array(mask.astype(np.float32), mask_volume.geometry, region_profile(profile))
    return on_volume_grid(AttentionMap("", "report", grid.astype(np.float32)), volume, profile)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1, help="synthetic seed (the learning bench trains on 0)")
    parser.add_argument("--data", default="/tmp/mg3d-attention-bench")
    parser.add_argument("--family", choices=["a", "b"], default="a",
                        help="generator family of the held-out cases (the learning bench trains on one, tests on both)")
    parser.add_argument("--methods", default="map,gradient", help="map (the model's), gradient (Grad-CAM), or both")
    parser.add_argument("--tolerance", type=float, default=None,
                        help="mm (default: the largest voxel spacing of the checkpoint's profile)")
    parser.add_argument("--fraction", type=float, default=None,
                        help="one outline level for every finding, in the rule's unit (default: the "
                        "checkpoint's outline_levels, else the rule's default)")
    from napari_mg3d.inference.outline import RULES

    parser.add_argument("--rule", choices=RULES, default=None,
                        help="outline rule (inference.outline): the checkpoint's outline_rule by default")
    parser.add_argument("--levels", action="store_true",
                        help="outline at the checkpoint's outline_levels even where it trained its own cut")
    args = parser.parse_args()
    from napari_mg3d.data.synth_writer import family_module
    from napari_mg3d.inference.attention import on_volume_grid, sentence_maps
    from napari_mg3d.inference.encode import load_model, model_input
    from napari_mg3d.inference.outline import body_mask, by_mean, level_for, outline
    from napari_mg3d.inference.outline_quality import dice
    from napari_mg3d.io.volume import read_volume
    from napari_mg3d.knowledge.labels import label_report
    from napari_mg3d.model.capabilities import OUTLINES

    import csv

    from scipy.ndimage import distance_transform_edt

    CT_RATE_LABEL = family_module(args.family).CT_RATE_LABEL
    manifest = synthetic_cases(args.data, args.cases, args.seed, "test", args.family)
    rows = list(csv.DictReader(manifest.open()))
    loaded = load_model(args.checkpoint, "cpu")
    trained_on = shared_cases(args.checkpoint, manifest, rows)
    if trained_on:
        sys.exit(f"{trained_on} of these {len(rows)} held-out cases are cases the checkpoint was trained on "
                 f"(the same generator, family and seed as its training manifest): choose another --seed")
    tolerance = args.tolerance if args.tolerance is not None else max(loaded.profile.spacing)
    methods = tuple(m for m in ("map", "gradient") if m in args.methods.split(","))
    rule = args.rule or loaded.outline_rule
    levels = {} if args.fraction is not None else (loaded.outline_levels or {})
    if levels and by_mean(rule) != by_mean(loaded.outline_rule):
        sys.exit(f"the checkpoint's outline levels are for rule {loaded.outline_rule!r}, in another unit "
                 f"than {rule!r}'s: give --fraction, or a rule of the same unit")
    fraction = level_for(None, "", rule) if args.fraction is None else args.fraction
    # the maps' own cut where the checkpoint trained the outline offset, unless a level is asked for
    own_cut = OUTLINES in loaded.capabilities.trained and args.fraction is None and not args.levels
    hits, chance_volume, shapes = defaultdict(list), defaultdict(list), defaultdict(list)
    distances, ceiling = defaultdict(list), defaultdict(list)
    for row in rows:
        volume = read_volume(manifest.parent / row["volume"])
        report = (manifest.parent / row["report"]).read_text(encoding="utf-8")
        findings = json.loads(row["findings"])
        x = model_input(volume, loaded.profile)
        spacing_zyx = volume.geometry.spacing[::-1]
        voxel_ml = float(np.prod(volume.geometry.spacing)) / 1000
        body = body_mask(volume)
        maps = {m: sentence_maps(loaded.model, x, report, refine=m == "gradient") for m in methods}
        for finding, info in findings.items():
            label = CT_RATE_LABEL[finding]
            mask_volume = read_volume(manifest.parent / info["mask"])
            mask = mask_volume.array > 0
            ceiling[finding].append(dice(on_model_grid(mask, mask_volume, volume, loaded.profile) >= 0.5, mask))
            near = distance_transform_edt(~mask, sampling=spacing_zyx) <= tolerance
            for method, method_maps in maps.items():
                naming = [m for m in method_maps if label_report(m.text).get(label) == 1]
                if not naming:
                    continue
                heat = on_volume_grid(naming[0], volume, loaded.profile)
                peak = peak_of(heat)
                hits[(finding, method)].append(bool(mask[peak]))
                hits[(finding, method, "near")].append(bool(near[peak]))
                if method == "map":  # how far the peak is from the finding, in mm (0 inside)
                    away = distance_transform_edt(~mask, sampling=spacing_zyx)
                    distances[finding].append(float(away[peak]))
                total = heat.sum()  # an all-zero Grad-CAM map has no mass anywhere
                hits[(finding, method, "mass")].append(float(heat[mask].sum() / total) if total > 0 else 0.0)
                if method == "map":  # (dice, outline ml, mask ml)
                    cut = naming[0].cut if own_cut else None
                    level = level_for(levels, naming[0].text, rule) if levels else fraction
                    shape = outline(heat, volume, naming[0].text, body, level, cut, rule)
                    shapes[finding].append((dice(shape.mask, mask), shape.ml, float(mask.sum()) * voxel_ml))
            chance_volume[finding].append((mask.mean(), near.mean()))
    table, overall = [], defaultdict(list)
    fmt = lambda h: f"{np.mean(h):.3f}" if len(h) else "-"  # noqa: E731
    keys = [(m, *kind) for m in methods for kind in ((), ("near",), ("mass",))]


    def outlined(rows_):  # dice, ml of the outline and of the mask (medians), median relative error
        if not rows_:
            return ["-"] * 4
        d, ml, truth = (np.asarray(c, float) for c in zip(*rows_))
        return [f"{d.mean():.3f}", f"{np.median(ml):.1f}", f"{np.median(truth):.1f}",
                f"{np.median(np.abs(ml - truth) / truth):.2f}"]

    def mm(values):  # median distance of the map's peak from the finding
        return f"{np.median(values):.1f}" if values else "-"

    for finding in sorted(chance_volume):
        row = [finding, len(hits.get((finding, "map"), []))]
        for key in keys:
            h = hits.get((finding, *key), [])
            overall[key] += h
            row.append(fmt(h))
        table.append(row + [fmt([c[0] for c in chance_volume[finding]]), fmt([c[1] for c in chance_volume[finding]]),
                            *outlined(shapes[finding]), fmt(ceiling[finding]), mm(distances[finding])])
    chance = [c for v in chance_volume.values() for c in v]
    table.append(["all", len(overall[("map",)]), *(fmt(overall[k]) for k in keys),
                  fmt([c[0] for c in chance]), fmt([c[1] for c in chance]),
                  *outlined([r for v in shapes.values() for r in v]), fmt([c for v in ceiling.values() for c in v]),
                  mm([d for v in distances.values() for d in v])])
    from napari_mg3d.model.checkpoint import read_metadata

    meta = read_metadata(args.checkpoint) or {}
    weights = (meta.get("model_config") or {}).get("loss_weights", {})
    if meta.get("region_cases"):
        supervision = f"region term on the masks of {meta['region_cases']} training cases"
    elif meta.get("organ_cases"):
        supervision = f"organ term on the organ maps of {meta['organ_cases']} training cases (no finding masks)"
    elif "region_cases" in meta or not weights.get("regions"):
        supervision = "no masks in training (report words only)"
    else:
        supervision = "masks in training: not recorded"
    print(f"pointing game, {len(rows)} held-out synthetic cases of family {args.family}, {Path(args.checkpoint).name} "
          f"({supervision}; "
          f"map: the model's sentence maps, grounding head or fusion attention; gradient: Grad-CAM); "
          f"'near': within {tolerance:g} mm of the mask")
    print_table(["finding", "sentences", *(f"{k}: {m}" for m in methods for k in ("hit", "near", "mass")),
                 "chance", "chance near", "dice", "ml: outline", "ml: mask", "ml error", "dice: grid",
                 "peak mm"], table)
    per_finding = [np.mean([r[0] for r in v]) for v in shapes.values() if v]
    if per_finding:
        if own_cut:
            how = "each map at its own cut (the outline offset the run trained)"
        elif levels:
            chosen = ", ".join(f"{k} {v:g}" for k, v in sorted(levels.items()))
            how = f"each finding at the level the run chose ({chosen})"
        elif by_mean(rule):
            how = f"{fraction:g} times the map's mean"
        else:
            how = f"fraction {fraction:g} of the peak"
        print(f"outline (inference.outline, rule {rule!r}: {how}, in the body): "
              f"mean Dice over findings {np.mean(per_finding):.3f}; the best an outline on the model's grid "
              f"can do ('dice: grid'): {np.mean([np.mean(v) for v in ceiling.values() if v]):.3f}")


def shared_cases(checkpoint, manifest, rows) -> int:
    """How many of ``rows`` (the test manifest's) the checkpoint's training manifest holds: same
    case id from the same generator code and family (a synthetic case is its seed, index, family
    and code). 0 where the checkpoint does not name a training manifest on this machine (the
    shipped demo model names its cases in words: seed 0, family A, not to be tested on)."""
    import csv

    from napari_mg3d.model.checkpoint import read_metadata

    trained = Path(str((read_metadata(checkpoint) or {}).get("manifest", "")))
    if not trained.is_file() or not (trained.parent / "generator.json").is_file():
        return 0

    def maker(folder):
        info = json.loads((folder / "generator.json").read_text())
        return info.get("family"), info.get("code")

    if maker(trained.parent) != maker(manifest.parent):
        return 0
    with trained.open(encoding="utf-8") as f:
        ids = {r["id"] for r in csv.DictReader(f) if r.get("split", "train") == "train"}
    return sum(r["id"] in ids for r in rows)


if __name__ == "__main__":
    main()
