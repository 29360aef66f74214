"""The 18 CT-RATE abnormality labels read from free-text chest CT reports.

Each label has patterns for its mentions and, optionally, clause patterns that void a mention (a
"thyroid nodule" is no lung nodule). A report is positive for a label when one mention is present or
uncertain (not negated).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .negation import ABSENT, Clauses

CT_RATE_LABELS = (
    "Medical material", "Arterial wall calcification", "Cardiomegaly", "Pericardial effusion",
    "Coronary artery wall calcification", "Hiatal hernia", "Lymphadenopathy", "Emphysema", "Atelectasis",
    "Lung nodule", "Lung opacity", "Pulmonary fibrotic sequela", "Pleural effusion",
    "Mosaic attenuation pattern", "Peribronchial thickening", "Consolidation", "Bronchiectasis",
    "Interlobular septal thickening",
)


@dataclass(frozen=True)
class Rule:
    mention: str  # regex for a mention (lower case; it must start at a word)
    void: str = ""  # regex: a mention whose clause matches this does not count
    require: str = ""  # regex: a mention counts only if its clause matches this


RULES: dict[str, Rule | tuple[Rule, ...]] = {
    "Medical material": Rule(
        r"catheter|cannula|stents?\b|pacemaker|port\b|drain(?:age)?\b|tube\b|sutures?|sternotomy|"
        r"tracheostomy|prosthe\w+|clips?\b|electrodes?|implant\w*|wires?\b|metallic|graft|valve\s+replacement|"
        r"materials?\b|coils?\b|screws?\b|peg\b",
        void=r"contrast|opaque|food|ingest",
    ),
    "Arterial wall calcification": Rule(
        r"atheroscler\w*|atherom\w*|calcifi\w*|calcific\b|plaques?\b",
        # the thoracic aorta and other arteries; coronary arteries have a label of their own, and
        # CT-RATE does not count the abdominal aorta, the aortic valve or the aortopulmonary window
        require=r"(?<!abdominal )(?<!coronary )(?:aort(?!ic\s+valve|o-?pulmonary|icopulmonary|ic\s+valve)\w*"
        r"|carotid|iliac|subclavian|brachiocephalic|femoral|truncus|arcus|arch\b"
        r"|(?:arter(?:y|ies)|vascular|vessels?)\b(?!\s+(?:structures?\s+)?(?:of\s+the\s+)?(?:heart|cardiac)))",
        void=r"lymph|nodes?\b|nodul",
    ),
    "Cardiomegaly": Rule(
        r"cardiomegal\w*|(?:heart|cardiac)\s+(?:size|contour|silhouette|dimensions?)[^.;]*?\b(?:increased|enlarged|large|wide)"
        r"|enlarge\w*\s+(?:of\s+the\s+)?heart|heart\s+(?:is|was)\s+enlarged|increase\w*\s+in\s+(?:the\s+)?heart\s+size"
        r"|heart\s+sizes?\s+(?:has|have|is|are|was|were)\s+increased"
        r"|(?:(?:cardiothoracic|cardio-thoracic)\s+(?:ratio|index)|ctr\b)[^.;]*?\bincrease"
        r"|increase\w*\s+in\s+(?:the\s+)?(?:cardiothoracic|cardio-thoracic|ctr\b)"
    ),
    "Pericardial effusion": Rule(
        r"pericardial\s+(?:[a-z]+[\s-]+){0,2}?(?:effusion|fluid)|(?:effusion|fluid)[^.;]*?pericardi"
    ),
    "Coronary artery wall calcification": Rule(
        r"atheroscler\w*|atherom\w*|calcifi\w*|calcific\b|plaques?\b",
        require=r"coronar|\blad\b|\brca\b|\bcx\b|circumflex|anterior\s+descending|diagonal\s+branch",
        void=r"lymph|nodes?\b|nodul",
    ),
    "Hiatal hernia": Rule(r"hiat(?:al|us)\s+hernia|hernia[^.;]*\bhiatus|hiatal"),
    "Lymphadenopathy": Rule(
        # CT-RATE counts thoracic lymph nodes described as present, small ones included, but not
        # nodes only in the axillae or the abdomen, nor intrapulmonary (perifissural) nodes
        r"lymphadenopath\w*|laps?\b|lymph\s+node\w*",
        void=r"intrapulmonary|subpleural\s+lymph|perifissural|fissur|axilla|abdom|inguinal|mesenter|retroperiton|"
        r"periportal|paraaortic|para-aortic|interaortocaval|paracaval|retrocaval|pelvi|splen|hepat|gastric|celiac|"
        r"portocaval|peripancrea|mammar",
    ),
    "Emphysema": Rule(r"emphysem\w+|bullae|bullous|bulla\b"),
    "Atelectasis": Rule(r"atelecta\w+", void=r"fibro[\s-]*atelect|band\s+atelect|osteophyte"),
    "Lung nodule": Rule(
        # nodules as things; "nodular" as an adjective (nodular consolidation, nodular ground glass,
        # nodular pleural thickening) is another finding
        r"(?:micro)?nodules?\b|nodular\s+(?:lesions?|formations?|masse?s?|appearances?)\b",
        void=r"thyroid|liver|hepatic|adrenal|kidney|renal|breast|areola|spleen|splenic|pancrea|osteo|bone|"
        r"skin|subcutaneous|gland|hypodense|(?<!sub)pleural\s+nodul|nodules?\s+in\s+the\s+pleura|mediastin|adipose|"
        r"fat\b|peritone|omentum|omental|abdominal|colon|gastric|stomach|prostat|vertebra",
    ),
    "Lung opacity": (
        Rule(r"ground[\s-]*glass|opacit\w+"),
        Rule(
            r"(?:dependent|depandant|nonspecific|alveolar|patchy|hazy|irregular|diffuse)"
            r"\s+(?:\w+\s+)?(?:densit\w+|increases?\s+in\s+density)"
            r"|(?:density\s+increases?|increased\s+density|increases?\s+in\s+density)",
            void=r"sequel|fibro|pleuro-?\s*parenchymal|pleural\s+parenchymal|band|atelecta|linear|reticul|calcif|"
            r"nodul|vertebra|bone|soft\s+tissue|fat|subcutaneous|liver|kidney|spleen|mediastin|osteo|metallic|stent",
            require=r"lung|lobe|segment|parenchyma|pulmonary|dependent|depandant|alveolar",
        ),
    ),
    "Pulmonary fibrotic sequela": Rule(
        r"fibro(?!adenom|ids?\b|ma\b|us\b)\w*|sequel\w*|scar\w*|(?:subpleural|parenchymal|pleuroparenchymal)\s+bands?",
        void=r"kidney|renal|rib\b|ribs\b|humer|fractur|spleen|splenic|liver|hepat|lymph|vertebra|bone|breast|thyroid|"
        r"nodules?\s+in\s+the\s+mediastinum|perirenal|operat",
    ),
    "Pleural effusion": Rule(
        r"pleural\s+effusion|effusion|hydrothorax|hydropneumothorax|hydropnomothorax|pleural\s+fluid",
        void=r"pericardi|perirenal|perinephric|kidney|abdom|spleen|splenic|subcapsular|liver|joint|pelvi",
    ),
    "Mosaic attenuation pattern": Rule(r"mosaic"),
    "Peribronchial thickening": Rule(
        r"peribronch\w*\s+(?:[a-z]+\s+){0,3}?thick\w*|peribronch\w*\s+cuff\w*"
        r"|thick\w*\s+(?:[a-z]+\s+){0,3}?peribronch\w*|bronch\w*\s+wall\s+thick\w*"
        r"|thicken\w+\s+(?:of\s+)?(?:the\s+)?bronch\w*\s+wall",
        void=r"lymph",
    ),
    "Consolidation": Rule(r"consolidat\w+", void=r"ground[\s-]*glass\s+consolid"),
    "Bronchiectasis": Rule(r"bronchiecta\w+"),
    "Interlobular septal thickening": Rule(
        r"(?:interlobular\s+)?septal\s+thicken\w*|thicken\w+\s+(?:of\s+)?(?:the\s+)?(?:interlobular\s+)?sept\w*|interlobular\s+sept\w*"
    ),
}
# Patterns are matched against ASCII-lowercased text (same length, same offsets), without
# IGNORECASE and with word starts checked in code: both let the regex engine skip ahead by the
# first characters, which makes labelling about ten times faster.
_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_COMPILED = {
    label: [
        (re.compile(rule.mention), re.compile(rule.void) if rule.void else None,
         re.compile(rule.require) if rule.require else None)
        for rule in (rules if isinstance(rules, tuple) else (rules,))
    ]
    for label, rules in RULES.items()
}


def lower(text: str) -> str:
    return text.translate(_LOWER)


def label_mentions(report: str, label: str, clauses: Clauses | None = None):
    """(start, end, status) of every counted mention of ``label`` in ``report``."""
    clauses = clauses or Clauses(lower(report))
    text = clauses.text
    out = []
    for mention, void, require in _COMPILED[label]:
        for m in mention.finditer(text):
            start = m.start()
            if start and text[start - 1].isalnum():
                continue  # mentions start at a word
            lo, hi = clauses.bounds(start, m.end())
            if void is not None and void.search(text, lo, hi):
                continue
            if require is not None and not require.search(text, lo, hi):
                continue
            out.append((start, m.end(), clauses.status(start, m.end())))
    return out


def label_report(report: str) -> dict[str, int]:
    """0/1 for each of the 18 CT-RATE labels."""
    clauses = Clauses(lower(report if isinstance(report, str) else ""))
    return {
        label: int(any(status != ABSENT for _, _, status in label_mentions(report, label, clauses)))
        for label in CT_RATE_LABELS
    }
