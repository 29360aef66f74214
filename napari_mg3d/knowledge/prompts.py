"""Zero-shot prompt pairs (positive and negative phrasing) for each label.

Built from the same vocabulary the label rules read, so the labeller itself must read every
positive prompt as the label present and every negative one as absent (tests check this).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .labels import CT_RATE_LABELS


@dataclass(frozen=True)
class PromptSet:
    label: str
    positive: tuple[str, ...]
    negative: tuple[str, ...]


# label -> (the finding as a noun phrase, where it is)
VOCABULARY: dict[str, tuple[str, str]] = {
    "Medical material": ("a catheter or other medical material", "in the chest"),
    "Arterial wall calcification": ("calcified atherosclerotic plaques", "in the wall of the thoracic aorta"),
    "Cardiomegaly": ("cardiomegaly", "with an enlarged heart"),
    "Pericardial effusion": ("pericardial effusion", "around the heart"),
    "Coronary artery wall calcification": ("calcified plaques", "in the coronary arteries"),
    "Hiatal hernia": ("a hiatal hernia", "at the esophageal hiatus"),
    "Lymphadenopathy": ("enlarged lymph nodes", "in the mediastinum"),
    "Emphysema": ("emphysema", "in both lungs"),
    "Atelectasis": ("atelectasis", "in the lung"),
    "Lung nodule": ("a pulmonary nodule", "in the lung"),
    "Lung opacity": ("ground glass opacity", "in the lung"),
    "Pulmonary fibrotic sequela": ("fibrotic sequelae changes", "in the lung"),
    "Pleural effusion": ("pleural effusion", "in the pleural space"),
    "Mosaic attenuation pattern": ("a mosaic attenuation pattern", "in both lungs"),
    "Peribronchial thickening": ("peribronchial thickening", "in both lungs"),
    "Consolidation": ("consolidation", "in the lung"),
    "Bronchiectasis": ("bronchiectasis", "in the lung"),
    "Interlobular septal thickening": ("interlobular septal thickening", "in both lungs"),
}
POSITIVE_TEMPLATES = ("There is {noun} {site}.", "{Noun} is observed {site}.")
NEGATIVE_TEMPLATES = ("There is no {bare} {site}.", "{Noun} was not observed {site}.")


def prompt_set(label: str, noun: str | None = None, site: str = "") -> PromptSet:
    """Prompts for ``label``; unknown labels get generic ones built from the label's own name."""
    if noun is None:
        noun, site = VOCABULARY.get(label, (label.lower(), site))
    bare = noun.removeprefix("a ").removeprefix("an ")
    fill = {"noun": noun, "Noun": noun[:1].upper() + noun[1:], "bare": bare, "site": site}
    clean = lambda t: " ".join(t.format(**fill).split()).replace(" .", ".")  # noqa: E731
    return PromptSet(label, tuple(map(clean, POSITIVE_TEMPLATES)), tuple(map(clean, NEGATIVE_TEMPLATES)))


def default_prompts() -> list[PromptSet]:
    """The 18 CT-RATE labels."""
    return [prompt_set(label) for label in CT_RATE_LABELS]


def load_prompts(path: str | Path) -> list[PromptSet]:
    """A label set from a file: JSON ``{label: {"positive": [...], "negative": [...]}}`` or
    ``{label: "noun phrase"}``, or plain text with one label per line."""
    from ..io.errors import InputError

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read label set {path.name}: {exc}") from None
    if path.suffix.lower() != ".json":
        labels = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
        if not labels:
            raise InputError(f"label set {path.name} lists no labels")
        return [prompt_set(label) for label in labels]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"label set {path.name} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict) or not data:
        raise InputError(f"label set {path.name}: expected a JSON object of labels")
    out = []
    for label, spec in data.items():
        if isinstance(spec, str):
            out.append(prompt_set(label, spec))
        elif isinstance(spec, dict) and spec.get("positive") and spec.get("negative"):
            out.append(PromptSet(label, tuple(spec["positive"]), tuple(spec["negative"])))
        else:
            raise InputError(f"label set {path.name}: {label!r} needs 'positive' and 'negative' prompts")
    return out
