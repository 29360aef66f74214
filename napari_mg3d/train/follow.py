"""A training run's metrics file and its control from outside the run's process (the Training
widget, the demo): the command that starts it, the stop request, one record appended (the run's
callbacks), the new records as they are written, and ETAs as people read them."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

STOP_FILE = "stop"  # <out>/stop asks a run to end cleanly (train/callbacks.py StopRequest)
KINDS = ("pretrain", "finetune seg", "finetune cls", "finetune align")


def training_command(kind: str, out, manifest=None, config=None, overrides=(), resume: bool = False) -> list[str]:
    """argv of ``mg3d pretrain`` or ``mg3d finetune seg|cls|align`` for this Python."""
    if kind not in KINDS:
        raise ValueError(f"unknown training kind {kind!r}; one of {', '.join(KINDS)}")
    # at a lower priority where the system can: the viewer that launched it stays responsive
    nice = ["nice", "-n", "10"] if shutil.which("nice") and os.name == "posix" else []
    argv = [*nice, sys.executable, "-m", "napari_mg3d.cli", *kind.split()]
    if config:
        argv.append(str(config))
    sets = [f"out={out}", *([f"manifest={manifest}"] if manifest else []), *overrides]
    argv += ["--set", *sets]
    if resume:
        argv.append("--resume")
    return argv


def append_record(path, record: dict) -> None:
    """One JSON line at the end of a metrics file, flushed so a follower sees it at once."""
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")
        f.flush()


def format_duration(seconds: float) -> str:
    """"1h 05m" or "4m 07s"."""
    seconds = int(max(0, seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h {m:02d}m" if h else f"{m}m {s:02d}s"


def request_stop(out) -> Path:
    """Ask the run writing to ``out`` to stop after its current step (it saves and exports first)."""
    path = Path(out) / STOP_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    return path


class MetricsFollower:
    """New records of a metrics.jsonl since the last poll; a half-written last line waits for the
    next poll; a file started afresh is read from its beginning."""

    def __init__(self, path):
        self.path = Path(path)
        self.offset = 0
        self.records: list[dict] = []

    def poll(self) -> list[dict]:
        try:
            size = self.path.stat().st_size
        except OSError:
            return []
        if size < self.offset:  # replaced by a new run
            self.offset, self.records = 0, []
        if size == self.offset:
            return []
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            chunk = f.read(size - self.offset)
        end = chunk.rfind(b"\n") + 1
        self.offset += end
        new = []
        for line in chunk[:end].splitlines():
            try:
                new.append(json.loads(line))
            except ValueError:
                continue  # a damaged line is skipped, not fatal
        self.records += new
        return new

    def progress(self) -> tuple[int, int, float | None]:
        """(step, max steps, seconds left or None) from what has been read."""
        step = max((r.get("step", 0) for r in self.records), default=0)
        total = max((r.get("max_steps", 0) for r in self.records if r.get("event") == "start"), default=0)
        eta = next((r["eta_s"] for r in reversed(self.records) if "eta_s" in r), None)
        return step, total, eta
