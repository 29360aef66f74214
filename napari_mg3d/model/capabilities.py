"""What a checkpoint can do, read from its metadata: where it came from (the official MG-3D release,
converted, or our own training) and which parts carry trained weights. The official release never
trains ``itc_head`` (the report-volume space our findings and text search read), so an official
checkpoint offers attention maps (the release's own sentence-image affinities) and similar cases by
volume (the unimodal image embedding), and says how to get the rest: ``mg3d finetune align``."""

from __future__ import annotations

from dataclasses import dataclass

# the parts a checkpoint may carry trained weights for
VISION, FUSION, ALIGNMENT, FINDINGS, GROUNDING = "vision", "fusion", "alignment", "findings", "grounding"
OUTLINES = "outlines"  # the grounding head's outline offset, trained on finding masks
HOW_TO_ALIGN = "train one with mg3d finetune align (report-volume pairs), or from the Training widget"


@dataclass(frozen=True)
class Capabilities:
    source: str  # "official" (the release's weights), "ours" (trained here) or "untrained"
    trained: tuple[str, ...] = ()

    @property
    def aligned(self) -> bool:
        """A trained report-volume space (``itc_head``): findings, text search, Grad-CAM. An untrained
        named architecture (no checkpoint) is not refused anything: it says it is untrained instead."""
        return ALIGNMENT in self.trained or self.source == "untrained"

    @property
    def volume_space(self) -> str:
        """Which embedding similar cases by volume compare."""
        return "alignment" if self.aligned else "unimodal"

    def refusal(self, what: str) -> str | None:
        """One line saying why ``what`` (findings, text search, refined maps) is not offered, or None."""
        if self.aligned:
            return None
        origin = "the official MG-3D weights do" if self.source == "official" else "this checkpoint does"
        return f"{what} not offered: it needs a trained report-volume space, which {origin} not have; {HOW_TO_ALIGN}"

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "trained": list(self.trained),
            "volume_search": "alignment space" if self.aligned else "unimodal image embedding",
            "attention": "grounding head" if GROUNDING in self.trained else "fusion affinities",
            "findings": self.refusal("findings") or "offered",
            "text_search": self.refusal("text search") or "offered",
        }

    def summary(self) -> str:
        """One line for the Model widget."""
        parts = ", ".join(self.trained) or "nothing"
        origin = {"official": "official MG-3D weights", "ours": "trained with napari-mg3d",
                  "untrained": "untrained"}[self.source]
        return f"{origin}; trained: {parts}"


def trained_parts(config, weights: dict) -> list[str]:
    """The parts a pre-training run with these loss ``weights`` trains."""
    parts = [VISION, FUSION]
    if weights.get("ga", 0) > 0:
        parts.append(ALIGNMENT)
    if weights.get("findings", 0) > 0:
        parts.append(FINDINGS)
    if config.grounding and (weights.get("grounding", 0) > 0 or weights.get("regions", 0) > 0):
        parts.append(GROUNDING)
    if getattr(config, "grounding_outline", False) and weights.get("outlines", 0) > 0:
        parts.append(OUTLINES)
    return parts


def capabilities_of(meta: dict | None, config=None, official_file: bool = False) -> Capabilities:
    """From a checkpoint's metadata (None: an official file read as it is, or no checkpoint)."""
    if official_file or (meta and "converted_from" in meta and "source" not in meta):
        return Capabilities("official", (VISION, FUSION))
    if meta is None:
        return Capabilities("untrained")
    if "source" in meta:
        return Capabilities(meta["source"], tuple(meta.get("trained", ())))
    # a checkpoint of ours written before sources were recorded: what its config trained
    from .objectives import loss_weights

    return Capabilities("ours", tuple(trained_parts(config, loss_weights(getattr(config, "loss_weights", {})))))


MIN_LEARNT = 3  # training reports that state a label, and that do not, for it to count as learnt


def learnt_labels(meta: dict | None) -> dict[str, dict] | None:
    """label -> what it was learnt from ({"positive": n, "negative": m} training reports) for each
    label the checkpoint's findings objective saw at least ``MIN_LEARNT`` times stated and not stated;
    a checkpoint written before these counts were kept: the labels its findings calibration was fit
    for (the same rule: both kinds of cases), counts unknown. None: it says nothing of its labels."""
    meta = meta or {}
    if "findings_learnt" in meta:
        return {label: counts for label, counts in meta["findings_learnt"].items()
                if min(counts.get("positive", 0), counts.get("negative", 0)) >= MIN_LEARNT}
    if meta.get("findings_calibration"):
        return {label: {} for label in meta["findings_calibration"]}
    return None
