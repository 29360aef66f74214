"""``mg3d library add`` and ``mg3d search``: filling a case library from a manifest (incremental
and resumable: cases already there are skipped, each batch is committed) and querying it."""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

from ..io.errors import InputError
from .library import CaseLibrary


def model_signature(checkpoint, profile, dim: int, space: str = "alignment") -> dict:
    """What makes embeddings comparable: the checkpoint's bytes, the profile, the dimension, and the
    space the volumes are embedded in (the alignment space, or the unimodal image embedding)."""
    stat = Path(checkpoint).stat()
    digest = _sha256(str(Path(checkpoint).resolve()), stat.st_size, stat.st_mtime_ns)
    return {"checkpoint_sha256": digest, "profile": profile.signature(), "dim": dim, "space": space}


@functools.lru_cache(maxsize=16)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    """The file's digest, remembered while its size and modification time stay the same."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def signature_of(loaded) -> dict:
    if loaded.checkpoint is None:
        raise InputError("an untrained model has no library: load a checkpoint first")
    space = loaded.capabilities.volume_space
    dim = loaded.model.itc_head.vision_proj.out_features if space == "alignment" else loaded.model.config.hidden
    return model_signature(loaded.checkpoint, loaded.profile, dim, space)


def open_for_model(folder, loaded) -> CaseLibrary:
    """The library in ``folder``, refused when it was built with another model or profile."""
    lib = CaseLibrary(folder)
    if signature_of(loaded) != lib.signature:
        lib.close()
        raise InputError(f"the library in {folder} was built with another model or profile; "
                         "rebuild it with mg3d library add --checkpoint this one")
    return lib


def search_with(lib: CaseLibrary, loaded, text: str | None = None, volume=None, k: int = 10,
                features=None) -> list:
    """Hits for a text (report -> volume retrieval) or a Volume (image -> image); ``features``: the
    volume already encoded (``features.CaseFeatures``)."""
    from .analysis import image_embedding, text_embedding

    if text is not None:
        if not text.strip():
            raise InputError("the search text is empty")
        query = text_embedding(loaded, text)
    else:
        query = image_embedding(loaded, volume, features)
    return lib.search(query, k, "image")


def add_manifest(folder, manifest, checkpoint, device: str = "auto", batch_size: int = 8, progress=None,
                 split: str | None = None) -> dict:
    """The manifest's cases (of ``split``; all when None) not yet in the library, batch by batch."""
    import numpy as np
    import torch

    from ..data.case_check import check_manifest
    from ..io.volume import read_volume
    from .analysis import volume_embeddings
    from .encode import load_model, model_input

    loaded = load_model(checkpoint, device)
    model = loaded.model
    lib, rebuilt = CaseLibrary.for_model(folder, signature_of(loaded))
    lib.set_meta("checkpoint", str(Path(checkpoint).resolve()))
    lib.set_meta("capabilities", json.dumps(loaded.capabilities.to_dict()))
    check = check_manifest(manifest, split)
    todo = [c for c in check.cases if not lib.has(c.id)]
    done = 0
    for start in range(0, len(todo), batch_size):
        cases = todo[start:start + batch_size]
        with torch.no_grad():
            volumes = torch.cat([model_input(read_volume(c.volume), loaded.profile) for c in cases]).to(loaded.device)
            images = volume_embeddings(loaded, volumes)
            if loaded.capabilities.aligned:
                batch = model.tokenize([c.report for c in cases]).to(loaded.device)
                reports = model.report_embedding(batch).cpu().numpy()
            else:  # no report-volume space: text search is refused, so nothing reads these (nor needs a tokenizer)
                reports = np.zeros_like(images)
        lib.add([{"case_id": c.id, "report": c.report, "labels": c.labels, "volume": str(c.volume),
                  "image": images[i], "report_vec": reports[i]} for i, c in enumerate(cases)])
        done += len(cases)
        if progress is not None:
            progress(done, len(todo))
    result = {"library": str(folder), "added": done, "already_there": len(check.cases) - len(todo),
              "bad_cases": check.problems, "cases": len(lib), "rebuilt": rebuilt,
              "checkpoint": loaded.capabilities.to_dict()}
    lib.close()
    return result


def search_library(folder, text: str | None = None, volume=None, case: str | None = None, k: int = 10,
                   checkpoint=None, device: str = "auto") -> dict:
    """Ranked cases: --text against the volumes (report -> volume retrieval), --volume and --case
    against the volumes (image -> image); scores are cosines."""
    if sum(x is not None for x in (text, volume, case)) != 1:
        raise InputError("give exactly one of --text, --volume or --case")
    if k < 1:
        raise InputError("--k must be at least 1")
    lib = CaseLibrary(folder)
    stored = json.loads(lib.get_meta("capabilities") or "null")
    if case is not None:
        try:
            hits = lib.search(lib.embedding(case, "image"), k, "image", exclude=case)
        finally:
            lib.close()
        return {"query": {"case": case}, "hits": [h.to_dict() for h in hits], "checkpoint": stored}
    from .encode import load_model

    checkpoint = checkpoint or lib.get_meta("checkpoint")
    lib.close()
    if not checkpoint or not Path(checkpoint).is_file():
        raise InputError("the library's checkpoint is not on this machine; give --checkpoint")
    loaded = load_model(checkpoint, device)
    lib = open_for_model(folder, loaded)
    try:
        from ..io.volume import read_volume

        from .familiarity import unfamiliar_line
        from .features import encode_case

        image = read_volume(volume) if text is None else None
        features = encode_case(loaded, image) if image is not None else None
        hits = search_with(lib, loaded, text=text, volume=image, k=k, features=features)
    finally:
        lib.close()
    return {"query": {"text": text} if text is not None else {"volume": str(volume)},
            "unfamiliar": unfamiliar_line(loaded, image, features) if image is not None else None,
            "hits": [h.to_dict() for h in hits], "checkpoint": loaded.capabilities.to_dict()}
