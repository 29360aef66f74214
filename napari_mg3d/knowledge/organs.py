"""Which organs of a segmentation a sentence speaks of: the sentence's anatomy (``anatomy``: lobes,
regions) and side, matched against organ names as TotalSegmentator writes them
(``lung_upper_lobe_right``, ``heart``, ``aorta``, ``vertebrae_T4``, ``rib_left_5``, ...). The most
specific place wins: a lobe named is that lobe; otherwise the region, on the side the sentence
states (a 'right pleural effusion' lies against the right lung)."""

from __future__ import annotations

import re

from .anatomy import lobes, regions

_SIDE = re.compile(r"\b(right|left|bilateral|both|either)\b", re.IGNORECASE)
# region (anatomy.REGIONS) -> organ name patterns (a name matches when one pattern matches its start)
ORGANS_OF = {
    "lung": ("lung",),
    "pleura": ("lung", "pleura"),
    "trachea and bronchie": ("trachea", "bronch"),
    "mediastinum": ("heart", "aorta", "esophagus", "trachea", "pulmonary_artery", "mediastin", "thymus",
                    "brachiocephalic", "superior_vena_cava", "lymph"),
    "heart": ("heart", "pericard", "atrial_appendage", "coronary"),
    "aorta": ("aorta",),
    "pulmonary artery": ("pulmonary_artery", "pulmonary_vein"),
    "esophagus": ("esophagus", "stomach"),
    "thyroid": ("thyroid",),
    "bone": ("vertebra", "rib", "sternum", "clavicula", "scapula", "humerus", "spine", "costal"),
    "abdomen": ("liver", "spleen", "kidney", "adrenal", "pancreas", "gallbladder", "stomach", "colon",
                "small_bowel", "duodenum"),
    "soft tissue": ("skin", "subcutaneous", "muscle", "autochthon"),
}
_LATERAL = ("lung", "pleura", "rib", "clavicula", "scapula", "humerus", "kidney", "adrenal")


def sides(text: str) -> tuple[str, ...]:
    """('right',), ('left',), both, or () when the sentence names no side."""
    found = {m.group(1).lower() for m in _SIDE.finditer(text)}
    if found & {"bilateral", "both", "either"} or {"right", "left"} <= found:
        return ("right", "left")
    return tuple(s for s in ("right", "left") if s in found)


def organs_named(text: str, names) -> tuple[str, ...]:
    """The organs among ``names`` (a segmentation's organ names) that ``text`` speaks of, in the
    order of ``names``; () when it names no place those organs cover."""
    names = [str(n) for n in names]
    wanted_lobes = lobes(text)
    if wanted_lobes:  # 'right lung upper lobe' -> lung_upper_lobe_right (or the whole right lung)
        hits = [n for n in names if any(_is_lobe(n, lobe) for lobe in wanted_lobes)]
        if hits:
            return tuple(hits)
        side = {lobe.split()[0] for lobe in wanted_lobes}
        return tuple(n for n in names if n.lower().startswith("lung") and _on_sides(n, tuple(side)))
    side = sides(text)
    hits = []
    for region in regions(text):
        for prefix in ORGANS_OF.get(region, ()):
            for n in names:
                low = n.lower()
                if low.startswith(prefix) and (not side or not low.startswith(_LATERAL) or _on_sides(n, side)):
                    hits.append(n)
    return tuple(n for n in names if n in set(hits))


def _is_lobe(name: str, lobe: str) -> bool:
    side, _, level, _ = lobe.split()  # 'right lung upper lobe'
    low = name.lower()
    return low.startswith("lung") and level in low and _on_sides(name, (side,))


def _on_sides(name: str, side: tuple[str, ...]) -> bool:
    """A lateral organ on one of ``side``; one whose name has no side (both lungs in one) counts."""
    low = name.lower()
    named = [s for s in ("right", "left") if s in low]
    return not named or any(s in side for s in named)
