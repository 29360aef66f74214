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
    p.set_defaults(run=_convert_checkpoint)

    p = sub.add_parser("synth", help="write synthetic chest-CT-like cases with reports, masks and a manifest")
    p.add_argument("out", help="folder to write")
    p.add_argument("--n", type=int, default=20, help="number of cases")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", type=int, nargs=3, default=(64, 128, 128), help="voxels z y x")
    p.set_defaults(run=_synth)

    p = sub.add_parser("pretrain", help="MG-3D pre-training on a case manifest (Lightning; CPU to many GPUs)")
    p.add_argument("config", nargs="?", default=None, help="training config (JSON or YAML)")
    p.add_argument("--set", dest="overrides", nargs="*", default=[], metavar="KEY=VALUE",
                   help="override settings, e.g. max_steps=200 trainer.devices=2")
    p.add_argument("--resume", action="store_true", help="continue from <out>/last.ckpt")
    p.set_defaults(run=_pretrain)

    p = sub.add_parser("demo", help="open napari with a sample case (headless: write screenshots)")
    p.add_argument("--out", default="mg3d-demo", help="folder for screenshots and summary when headless")
    p.add_argument("--screenshot", action="store_true", help="write screenshots and exit (no window kept)")
    p.add_argument("--volume", default=None, help="open this volume instead of the synthetic case")
    p.set_defaults(run=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .io.errors import InputError

    args = build_parser().parse_args(argv)
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
    name = args.model or architecture_of(state)
    overrides = {"text.name": args.text_model} if args.text_model else {}
    model = MG3D(get_config(name, **overrides), pretrained_text=False)
    converted, report = convert_official(state, model.state_dict())
    model.load_state_dict(converted, strict=False)
    save_checkpoint(model, args.out, extra={"converted_from": Path(args.official).name})
    counts = {"model": name, "loaded": report.loaded, "missing": len(report.missing),
              "unexpected": len(report.unexpected), "left_out": report.left_out}
    print(json.dumps(counts, indent=2) if args.json else f"{name}: {report.summary()} -> {args.out}")
    return 0


def _synth(args) -> int:
    from .data.synth_writer import stderr_progress, write_synthetic
    from .io.errors import InputError

    if args.n < 1:
        raise InputError("--n must be at least 1")
    manifest = write_synthetic(args.out, args.n, args.seed, tuple(args.size), stderr_progress)
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

    return run_demo(out=args.out, screenshot=args.screenshot, volume=args.volume)


if __name__ == "__main__":
    sys.exit(main())
