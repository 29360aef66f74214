"""The ``mg3d`` command. Bad input: one line on stderr and exit code 2, nothing written."""

from __future__ import annotations

import argparse
import json
import os
import sys

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not usage + message
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mg3d", description="napari-mg3d: 3D medical images with their reports (MG-3D).")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("info", help="shape, geometry, value range and modality of a volume or DICOM folder")
    p.add_argument("path")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--max-mb", type=float, default=None, help="memory limit for one volume (MB)")
    p.set_defaults(run=_info)

    p = sub.add_parser("label-reports", help="the 18 CT-RATE abnormality labels of each report in a CSV")
    p.add_argument("reports", help="CSV with one report per row")
    p.add_argument("--column", default="report_text", help="the column holding the report text")
    p.add_argument("--out", required=True, help="CSV to write: one row per input row, one 0/1 column per label")
    p.add_argument("--id-column", default=None, help="copy this column first (default: AccessionNo/VolumeName/id)")
    p.set_defaults(run=_label_reports)

    p = sub.add_parser("convert-checkpoint", help="official MG-3D weights -> a napari-mg3d checkpoint")
    p.add_argument("official", help="the official file (.ckpt/.pt/.pth/.bin or .safetensors)")
    p.add_argument("out", help="the checkpoint to write (.safetensors)")
    p.add_argument("--model", default=None, help="mg3d-swin-b or mg3d-swin-l (default: from the weights)")
    p.add_argument("--text-model", default=None, help="folder of the text model's tokenizer (RadBERT)")
    p.add_argument("--json", action="store_true", help="print the key counts as JSON")
    p.add_argument("--allow-missing", action="store_true",
                   help="write the checkpoint even when keys the forward pass uses are missing (left at random values)")
    p.set_defaults(run=_convert_checkpoint)

    p = sub.add_parser("synth", help="write synthetic chest-CT-like cases with reports, masks and a manifest")
    p.add_argument("out", help="folder to write")
    p.add_argument("--n", type=int, default=20, help="number of cases")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", type=int, nargs=3, default=(64, 128, 128), help="voxels z y x")
    p.add_argument("--family", choices=["a", "b"], default="a",
                   help="generator family: a (the project's first) or b (phantoms written apart: other anatomy, "
                        "intensities and wording)")
    p.add_argument("--supervision", choices=["all", "findings", "organs", "reports", "mixed"], default="all",
                   help="what the manifest gives beside reports: finding masks and organ maps (all), finding masks, "
                        "organ maps only, reports only, or the three kinds case by case (mixed)")
    p.set_defaults(run=_synth)

    p = sub.add_parser("pretrain", help="MG-3D pre-training on a case manifest (Lightning; CPU to many GPUs)")
    _training_arguments(p, "max_steps=200 trainer.devices=2")
    p.set_defaults(run=_pretrain)

    p = sub.add_parser("finetune", help="fine-tune an MG-3D checkpoint: seg (SwinUNETR-style), cls, "
                                        "or align (a report-volume space)")
    p.add_argument("task", choices=["seg", "cls", "align"])
    _training_arguments(p, "checkpoint=runs/pretrain/model.safetensors max_steps=300")
    p.set_defaults(run=_finetune)

    p = sub.add_parser("segment", help="segment a volume with a fine-tuned segmentation checkpoint")
    p.add_argument("checkpoint")
    p.add_argument("volume")
    p.add_argument("--out", required=True, help="label map to write (.nii.gz, .nrrd, .mha)")
    _device_and_json(p)
    p.set_defaults(run=_segment)

    p = sub.add_parser("attention", help="cross-modal attention maps: one heatmap per report sentence or --text")
    p.add_argument("checkpoint")
    p.add_argument("volume")
    p.add_argument("--report", default=None, help="report file (default: the one beside the volume)")
    p.add_argument("--text", action="append", default=[], help="a phrase to map (repeatable)")
    p.add_argument("--out", required=True, help="folder for the heatmaps (NIfTI, the volume's geometry)")
    p.add_argument("--refine", action="store_true",
                   help="Grad-CAM maps of the global alignment on the next-to-last stage, instead")
    p.add_argument("--masks", action="store_true",
                   help="also each sentence's finding outlined: a label mask beside its heatmap, with its "
                   "volume in ml and its side/lobe (rule: docs/method.md, Inference)")
    _device_and_json(p)
    p.set_defaults(run=_attention)

    p = sub.add_parser("zeroshot", help="zero-shot probability per label from positive/negative prompts")
    p.add_argument("checkpoint")
    p.add_argument("volume")
    p.add_argument("--labels", default=None, help="label set file (JSON or one label per line); default: "
                   "the checkpoint's, else the 18 CT-RATE labels")
    _device_and_json(p)
    p.set_defaults(run=_zeroshot)

    p = sub.add_parser("library", help="a persistent case library (SQLite + FAISS) for similar-case search")
    lib = p.add_subparsers(dest="action", required=True)
    q = lib.add_parser("add", help="add a manifest's cases (incremental and resumable)")
    q.add_argument("library", help="the library folder (made if missing)")
    q.add_argument("manifest")
    q.add_argument("--checkpoint", required=True)
    q.add_argument("--batch-size", type=int, default=8)
    _device_and_json(q)
    q.set_defaults(run=_library_add)

    p = sub.add_parser("search", help="ranked similar cases from a case library")
    p.add_argument("library")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--text", help="findings in words: report -> volume search")
    group.add_argument("--volume", help="a volume file: image -> image search")
    group.add_argument("--case", help="a case id in the library: its volume's neighbours")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--checkpoint", default=None, help="default: the one the library was built with")
    _device_and_json(p)
    p.set_defaults(run=_search)

    p = sub.add_parser("demo", help="open napari with a sample case (headless: write screenshots)")
    p.add_argument("--out", default="mg3d-demo", help="folder for screenshots and summary when headless")
    p.add_argument("--screenshot", action="store_true", help="write screenshots and exit (no window kept)")
    p.add_argument("--volume", default=None, help="open this volume instead of the synthetic case")
    p.add_argument("--retrain", action="store_true",
                   help="train the demo model here (as scripts/make_demo_model.sh does) instead of using the shipped one")
    p.set_defaults(run=_demo)
    return parser


def _device_and_json(p) -> None:
    p.add_argument("--device", default="auto", help="auto (CUDA, MPS, CPU), cpu, cuda, mps")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _training_arguments(p, example: str) -> None:
    p.add_argument("config", nargs="?", default=None, help="settings file (JSON or YAML)")
    p.add_argument("--set", dest="overrides", nargs="*", default=[], metavar="KEY=VALUE",
                   help=f"override settings, e.g. {example}")
    p.add_argument("--resume", action="store_true", help="continue from <out>/last.ckpt")


def main(argv: list[str] | None = None) -> int:
    from .io.errors import InputError

    args = build_parser().parse_args(argv)
    import warnings

    plain = warnings.formatwarning
    warnings.formatwarning = lambda message, *rest, **kw: f"mg3d {args.command}: warning: {message}\n"
    try:
        return int(args.run(args) or 0)
    except InputError as exc:
        print(f"mg3d {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"mg3d {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line, the traceback on request
        if os.environ.get("MG3D_DEBUG"):
            raise
        print(f"mg3d {args.command}: internal error: {type(exc).__name__}: {exc} (MG3D_DEBUG=1 shows the traceback)",
              file=sys.stderr)
        return 1
    finally:
        warnings.formatwarning = plain


def _info(args) -> int:
    from .io.volume import volume_info

    max_bytes = None if args.max_mb is None else int(args.max_mb * 2**20)
    info = volume_info(args.path, max_bytes)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    for entry in info.get("series", [info]):
        print(f"{entry['name']}: {entry['modality']} {entry['dtype']} {'x'.join(map(str, entry['shape']))} (z,y,x)")
        print(f"  spacing {tuple(round(s, 4) for s in entry['spacing'])} mm, origin "
              f"{tuple(round(o, 2) for o in entry['origin'])} mm, values {entry['min']:g}..{entry['max']:g}")
        for w in entry.get("warnings", []):
            print(f"  warning: {w}")
    return 0


def _label_reports(args) -> int:
    from .knowledge.label_table import label_csv

    n = label_csv(args.reports, args.column, args.out, args.id_column)
    print(f"labelled {n} reports -> {args.out}", file=sys.stderr)
    return 0


def _convert_checkpoint(args) -> int:
    from pathlib import Path

    from .io.errors import InputError
    from .model.capabilities import FUSION, VISION
    from .model.checkpoint import architecture_of, convert_official, is_official, read_checkpoint, save_checkpoint
    from .model.config import get_config
    from .model.mg3d import MG3D

    if not args.out.endswith(".safetensors"):
        raise InputError(f"cannot write {args.out}: the output must end in .safetensors")
    if not Path(args.out).resolve().parent.is_dir():
        raise InputError(f"cannot write {args.out}: its folder does not exist")
    state, meta = read_checkpoint(args.official)
    if meta is not None or not is_official(state):
        raise InputError(f"{Path(args.official).name} is not an official MG-3D checkpoint")
    found = architecture_of(state)  # refuses a width that is neither Swin-B nor Swin-L
    name = args.model or found
    overrides = {"text.name": args.text_model} if args.text_model else {}
    model = MG3D(get_config(name, **overrides), pretrained_text=False)
    converted, report = convert_official(state, model.state_dict())
    if report.missing and not args.allow_missing:
        shown = ", ".join(report.missing[:3]) + (", ..." if len(report.missing) > 3 else "")
        raise InputError(f"{Path(args.official).name} lacks {len(report.missing)} keys the {name} forward pass uses "
                         f"({shown}); nothing written (--allow-missing writes it with those left random)")
    model.load_state_dict(converted, strict=False)
    save_checkpoint(model, args.out, extra={"converted_from": Path(args.official).name, "source": "official",
                                            "trained": [VISION, FUSION], "missing_keys": report.missing})
    counts = {"model": name, "loaded": report.loaded, "missing": len(report.missing),
              "unexpected": len(report.unexpected), "left_out": report.left_out}
    print(json.dumps(counts, indent=2) if args.json else f"{name}: {report.summary()} -> {args.out}")
    return 0


def _synth(args) -> int:
    from .data.synth_writer import stderr_progress, write_synthetic
    from .io.errors import InputError

    if args.n < 1:
        raise InputError("--n must be at least 1")
    manifest = write_synthetic(args.out, args.n, args.seed, tuple(args.size), stderr_progress,
                               family=args.family, supervision=args.supervision)
    print(manifest)
    return 0


def _pretrain(args) -> int:
    from .train.config import load_config
    from .train.pretrain import run

    final = run(load_config(args.config, args.overrides), resume=args.resume)
    print(final)
    return 0


def _demo(args) -> int:
    from .demo import run_demo

    return run_demo(out=args.out, screenshot=args.screenshot, volume=args.volume, retrain=args.retrain)




def _finetune(args) -> int:
    from .train.config import load_config
    from .train.finetune import FinetuneConfig, run

    config = load_config(args.config, [f"task={args.task}", *args.overrides], kind=FinetuneConfig)
    print(run(config, resume=args.resume))
    return 0


def _segment(args) -> int:
    from .inference.segment import segment_file

    result = segment_file(args.checkpoint, args.volume, args.out, device=args.device)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        voxels = ", ".join(f"{name} {n}" for name, n in result["voxels"].items())
        print(f"{result['out']}: {voxels}")
    return 0


def _say_unfamiliar(result: dict) -> None:
    """The out-of-distribution line, once on stderr (also in the --json output as "unfamiliar")."""
    if result.get("unfamiliar"):
        print(f"warning: {result['unfamiliar']}", file=sys.stderr)


def _attention(args) -> int:
    from .inference.commands import attention_to_folder

    result = attention_to_folder(args.checkpoint, args.volume, args.out, args.report, args.text, args.device,
                                 args.refine, args.masks)
    _say_unfamiliar(result)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for m in result["maps"]:
            shape = m.get("outline")
            outlined = (f"  outline {shape['ml']:.1f} ml, {shape['place']}" if shape and shape["ml_earned"]
                        else f"  outline {shape['place']} ({shape['ml_note']})" if shape else "")
            print(f"{m['file']}: peak at {m['peak_mm_xyz']} mm{outlined}  {m['text'][:70]}")
    return 0


def _zeroshot(args) -> int:
    from .inference.commands import zeroshot_volume

    result = zeroshot_volume(args.checkpoint, args.volume, args.labels, args.device)
    _say_unfamiliar(result)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for label, p in sorted(result["probabilities"].items(), key=lambda kv: -kv[1]):
            print(f"{p:6.3f}  {label}")
        if result["not_learnt"]:
            print(f"not learnt by this model (no probability): {', '.join(result['not_learnt'])}")
        if result["calibration"]:
            print(result["calibration"])
    return 0


def _library_add(args) -> int:
    from .data.synth_writer import stderr_progress
    from .inference.library_commands import add_manifest

    result = add_manifest(args.library, args.manifest, args.checkpoint, args.device, args.batch_size,
                          stderr_progress)
    if result["rebuilt"]:
        print(f"mg3d library: {args.library} was made with another model or profile; rebuilt", file=sys.stderr)
    for problem in result["bad_cases"]:
        print(f"mg3d library: skipped row {problem['row']} ({problem['id']}): {problem['reason']}", file=sys.stderr)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['library']}: added {result['added']}, already there {result['already_there']}, "
              f"{result['cases']} cases in all")
    return 0


def _search(args) -> int:
    from .inference.library_commands import search_library

    result = search_library(args.library, args.text, args.volume, args.case, args.k, args.checkpoint, args.device)
    _say_unfamiliar(result)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for rank, hit in enumerate(result["hits"], start=1):
            print(f"{rank:3d}  {hit['score']:.3f}  {hit['case_id']}  {hit['report'][:80]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
