"""A volume (or a file) through a checkpoint's own preprocessing profile into model inputs."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from ..io.errors import InputError
from .outline import MAP_RULE


NOT_RECORDED = "not recorded"  # a checkpoint made before runs fitted the findings' validation temperature


@dataclass
class Loaded:
    model: object  # MG3D, eval mode, on its device
    profile: object  # data.profiles.Profile
    prompts: list | None  # the label prompt sets the checkpoint carries (dicts), if any
    checkpoint: str | None = None  # None: a named architecture with untrained weights
    name: str = ""  # the architecture
    calibration: dict | None = None  # label -> zero-shot weights (train.calibrate.calibrate_findings)
    capabilities: object = None  # model.capabilities.Capabilities: its source and trained parts
    learnt: dict | None = None  # label -> training counts of the labels it learnt (capabilities.learnt_labels)
    training_data: dict | None = None  # what its training volumes looked like (model.familiar.summarise)
    outline_quality: dict | None = None  # label -> its outlines on held-out masks (inference.outline_quality)
    outline_levels: dict | None = None  # label -> the outline rule's level the run chose (inference.outline)
    outline_rule: str = MAP_RULE  # the rule its levels were chosen for and its outlines measured by (inference.outline)
    # the findings' validation temperature ({"cases", "temperature"}; train.calibrate.temper_findings), None: not
    # fitted (too few validation cases); NOT_RECORDED: a checkpoint made before runs fitted one
    findings_temperature: dict | str | None = None
    # prompt sets -> their embeddings (prompt_vectors), for ``_prompts_of``, the model they came from
    _prompts: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    _prompts_of: object = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        if self.capabilities is None:
            from ..model.capabilities import capabilities_of

            self.capabilities = capabilities_of(None if self.checkpoint is None else {}, self.model.config)

    def calibration_line(self, labels=None) -> str:
        """How its findings' probabilities were calibrated, in one line ("" where they were not);
        ``labels``: the labels asked for (a user's label file), of which only those the calibration
        knows are calibrated (the others keep the global prompt pair alone)."""
        known = [label for label in (labels if labels is not None else self.calibration or {})
                 if label in (self.calibration or {})]
        if not known:
            return ""
        n = len(known)
        counted = f"{n} of these {len(labels)} labels" if labels is not None and n < len(labels) else (
            f"{n} label{'s' if n != 1 else ''}")
        line = f"findings calibrated on its training cases ({counted})"
        t = self.findings_temperature
        if t == NOT_RECORDED:
            return f"{line}; made before runs fitted a validation temperature: they may be surer than they should be"
        if t is None:
            return f"{line}; no validation temperature (too few validation cases): they may be surer than they should be"
        if t["temperature"] <= 1.0:
            return f"{line}; its {t['cases']} validation cases asked for no softening (temperature 1)"
        return f"{line}, softened by temperature {t['temperature']:.2f} fitted on {t['cases']} validation cases"

    def require(self, what: str) -> None:
        """Refuse ``what`` (findings, text search, refined maps) with one line when the checkpoint
        has not trained what it needs."""
        from ..io.errors import InputError

        reason = self.capabilities.refusal(what)
        if reason:
            raise InputError(reason)

    @property
    def device(self):
        return next(self.model.parameters()).device

    def prompt_sets(self, labels_file=None) -> list:
        """The label set: from a file, else the checkpoint's own, else CT-RATE's 18."""
        from ..knowledge.prompts import PromptSet, default_prompts, load_prompts

        if labels_file:
            return load_prompts(labels_file)
        if self.prompts:
            return [PromptSet(p["label"], tuple(p["positive"]), tuple(p["negative"])) for p in self.prompts]
        return default_prompts()

    def prompt_vectors(self, prompt_sets, phrases: bool = False):
        """``zeroshot.PromptVectors`` of ``prompt_sets``: each label's prompt pair in the global
        alignment space (and, with ``phrases``, its positive prompts as phrases for the grounding
        head), embedded once per loaded model and kept; made again when ``model`` is replaced."""
        from .zeroshot import PromptVectors

        if self._prompts_of is not self.model:
            self._prompts, self._prompts_of = {}, self.model
        key = tuple(prompt_sets)
        vectors = self._prompts.get(key)
        if vectors is None or (phrases and vectors.phrases is None):
            vectors = PromptVectors.of(self.model, prompt_sets, phrases, vectors)
            self._prompts[key] = vectors
        return vectors


def load_model(checkpoint=None, device: str = "auto", name: str = "mg3d-tiny") -> Loaded:
    """A checkpoint (ours, which knows its architecture, or an official one of ``name``), or the
    named architecture untrained when ``checkpoint`` is None."""
    from ..data.profiles import get_profile
    from ..model.capabilities import capabilities_of, learnt_labels
    from ..model.checkpoint import read_metadata
    from ..model.factory import create_model

    if checkpoint is None:
        model = create_model(name, device=device).eval()
        return Loaded(model, get_profile(model.config.profile), None, None, model.config.name)
    model = create_model(name, checkpoint=checkpoint, device=device).eval()
    meta = read_metadata(checkpoint) or {}
    capabilities = capabilities_of(meta, model.config, official_file=model.load_report.official)
    profile = get_profile(meta.get("profile") or model.config.profile)
    return Loaded(model, profile, meta.get("prompts"), str(checkpoint), model.config.name,
                  meta.get("findings_calibration"), capabilities, learnt_labels(meta), meta.get("training_data"),
                  meta.get("outline_quality"), meta.get("outline_levels"), meta.get("outline_rule", MAP_RULE),
                  meta.get("findings_temperature", NOT_RECORDED))


def check_finite(volume) -> None:
    """InputError, in one line, when any voxel of a Volume is NaN or infinite."""
    finite = np.isfinite(volume.array)
    bad = max(int(finite.size - finite.sum()), getattr(volume, "nonfinite", 0))
    if bad:
        raise InputError(f"{volume.name or 'the volume'} has {bad:,} NaN or infinite voxels "
                         f"({100 * bad / finite.size:.3g}% of {finite.size:,}): the model cannot read it")


def model_input(volume, profile):
    """(1, 1, ...) float tensor of a Volume on the profile's grid; warns on a modality mismatch."""
    import torch

    from ..data.preprocess import preprocess_array
    from .modality_check import modality_warning

    check_finite(volume)
    warning = modality_warning(volume.modality, profile)
    if warning:
        warnings.warn(warning, stacklevel=2)
    return torch.from_numpy(np.ascontiguousarray(preprocess_array(volume.array, volume.geometry, profile)))[None, None]
