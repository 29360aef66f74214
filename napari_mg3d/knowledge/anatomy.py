"""Where a sentence or phrase is: regions named as in RadGenome-ChestCT (lung and its lobes,
trachea and bronchie, mediastinum, heart, aorta, pulmonary artery, pleura, esophagus, thyroid,
bone, abdomen, breast, soft tissue)."""

from __future__ import annotations

import re

REGIONS: dict[str, str] = {
    "lung": r"lungs?\b|pulmonar|parenchym|lobes?\b|lingul|apex|apices|apical|basal\s+segment|hemithora|"
    r"bronchiectasis|emphysem|atelecta|nodul|ground[\s-]*glass|consolidat|alveol",
    "trachea and bronchie": r"\btrache|\bbronch(?!iect)|\bcarina|airway",
    "mediastinum": r"mediastin|paratracheal|subcarinal|prevascular|hil(?:ar|um|us)\b|aortopulmonary|thymus|thymic|"
    r"lymph\s+node|lymphaden|\blaps?\b",
    "heart": r"heart|cardi(?!ac\s+valve)|pericardi|coronar|atri(?:um|al)|ventric",
    "aorta": r"aort(?!opulmonary)",
    "pulmonary artery": r"pulmonary\s+(?:arter|trunk|cone|conus)",
    "pleura": r"pleura|hydrothorax|pneumothorax|(?<!pericardial )effusion",
    "esophagus": r"esophag|oesophag|hiatal|hiatus",
    "thyroid": r"thyroid",
    "bone": r"bones?\b|osseous|vertebra|spine|spinal|\bribs?\b|costal|sternum|sternal|clavic|scapul|humer|"
    r"osteo|spondyl|lytic|sclerotic",
    "abdomen": r"abdom|liver|hepat|spleen|splen|kidney|renal|adrenal|pancrea|gallbladder|biliary|bile|stomach|"
    r"gastric|bowel|colon|perirenal",
    "breast": r"breast|axilla|mammar",
    "soft tissue": r"subcutaneous|skin|chest\s+wall|muscle|soft\s+tissue",
}
_REGIONS = {name: re.compile(pattern, re.IGNORECASE) for name, pattern in REGIONS.items()}

_SIDE = r"(?P<side>right|left|bilateral|both)"
_LEVEL = r"(?P<level>upper|middle|lower)"
LOBE_PATTERNS = (
    re.compile(_SIDE + r"\s+(?:lung\s+)?" + _LEVEL + r"\s+lobes?", re.IGNORECASE),  # right (lung) upper lobe
    re.compile(_LEVEL + r"\s+lobes?\s+of\s+(?:the\s+)?" + _SIDE + r"\s+lungs?", re.IGNORECASE),
    re.compile(r"\b(?P<abbr>rul|rml|rll|lul|lll)\b", re.IGNORECASE),
)
_ABBR = {"rul": ("right", "upper"), "rml": ("right", "middle"), "rll": ("right", "lower"),
         "lul": ("left", "upper"), "lll": ("left", "lower")}
LINGULA = re.compile(r"lingul", re.IGNORECASE)


def regions(text: str) -> tuple[str, ...]:
    """Regions named in ``text`` (lobes first, as 'right lung upper lobe'), in a fixed order."""
    found = list(lobes(text))
    found += [name for name, pattern in _REGIONS.items() if pattern.search(text)]
    return tuple(dict.fromkeys(found))


def lobes(text: str) -> tuple[str, ...]:
    """Lobes named in ``text`` as RadGenome writes them ('left lung lower lobe')."""
    out = []
    for pattern in LOBE_PATTERNS:
        for m in pattern.finditer(text):
            groups = m.groupdict()
            side, level = _ABBR[groups["abbr"].lower()] if groups.get("abbr") else (groups["side"], groups["level"])
            sides = ("right", "left") if side.lower() in ("both", "bilateral") else (side.lower(),)
            for s in sides:
                if not (s == "left" and level.lower() == "middle"):
                    out.append(f"{s} lung {level.lower()} lobe")
    if LINGULA.search(text):
        out.append("left lung upper lobe")
    return tuple(dict.fromkeys(out))
