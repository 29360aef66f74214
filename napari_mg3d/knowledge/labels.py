"""The 18 CT-RATE abnormality labels read from free-text chest CT reports.

Each label has patterns for its mentions and, optionally, clause patterns that void a mention (a
"thyroid nodule" is no lung nodule). A report is positive for a label when one mention is present or
uncertain (not negated).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .negation import ABSENT, Clauses
from .stems import literal_stems
from .text import clean_report

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
    require: str = ""  # regex: a mention counts only if its sentence matches this


RULES: dict[str, Rule | tuple[Rule, ...]] = {
    "Medical material": Rule(
        r"catheter|cannula|stents?\b|pacemaker|port\b|drain(?:age)?\b|tube\b|sutures?|sternotomy|"
        r"tracheostomy|prosthe\w+|clips?\b|electrodes?|wires?\b|metallic|graft|valve\s+replacement|"
        r"(?:breast|intrapectoral|retropectoral|submuscular)\s+implants?|implants?\s+in\s+the\s+(?:\w+\s+)?breast|"
        r"materials?\b|coils?\b|screws?\b|peg\b",
        void=r"contrast|opaque|food|ingest|thrombus|peritone|omentum|omental|metasta|fascia",
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
        r"|(?:heart|cardiac\s+silhouette)\s+(?:is|was|appears?|seems?)\s+(?:(?!not\b|no\b|never\b)\w+\s+)?(?:larger|bigger|wider)\s+than\s+(?:normal|usual)"
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
        r"lymphadeno(?:path|megal)\w*|laps?\b|lymph\s+node(?!\s+stations?)\w*",
        void=r"intrapulmonary|intraparenchymal|colon|sigmoid|subpleural\s+lymph|perifissural|fissur|axilla|abdom|inguinal|mesenter|retroperiton|"
        r"periportal|paraaortic|para-aortic|interaortocaval|paracaval|retrocaval|pelvi|splen|hepat|gastric|celiac|"
        r"portocaval|peripancrea|mammar",
    ),
    "Emphysema": Rule(r"emphysem\w+|bullae|bullous|bulla\b"),
    "Atelectasis": Rule(r"atelecta\w+", void=r"fibro[\s-]*atelect|band\s+atelect|osteophyte"),
    "Lung nodule": Rule(
        # nodules as things; "nodular" as an adjective (nodular consolidation, nodular ground glass,
        # nodular pleural thickening) is another finding
        r"micronodul\w*|nodules?\b|nodular\s+(?:lesions?|formations?|masse?s?|appearances?)\b",
        void=r"thyroid|liver|hepatic|adrenal|kidney|renal|breast|areola|spleen|splenic|pancrea|osteo|bone|"
        r"skin|subcutaneous|gland|hypodense|(?<!sub)pleural\s+nodul|nodules?\s+in\s+the\s+pleura|mediastin|adipose|"
        r"fat\b|peritone|omentum|omental|abdominal|colon|gastric|stomach|prostat|vertebra",
    ),
    "Lung opacity": (
        # ground glass (also translated as "frosted glass" or "icy density") and named opacities
        # (a ground-glass nodule is a nodule, and nodular or acinar opacities belong to small airways)
        Rule(
            r"(?:ground|frosted)[\s-]*glass|opacit\w+|icy\s+densit\w*|consolidative\s+densit\w*",
            void=r"(?:ground|frosted)[\s-]*glass\s+(?:density\s+)?(?:nodul|halo)|nodular\s+opacit|acinar\s+opacit",
        ),
        # density increases of a kind that is opacity in itself
        Rule(
            r"(?:dependent|depandant|alveolar|acinar|nonspecific|patchy|hazy)\s+(?:[a-z]+\s+)?"
            r"(?:densit\w+|increases?\s+in\s+density)",
            void=r"vertebra|bone|soft\s+tissue|fat|subcutaneous|liver|kidney|spleen|mediastin|metallic|\bstent|nodul",
        ),
        # any other density increase in the lung is an opacity, unless it is named as a sequela
        # (pleuroparenchymal scar, band) or lies outside the lung
        Rule(
            r"density\s+increases?|increased\s+density|increases?\s+in\s+density",
            void=r"sequel|pleuro-?\s*parenchymal|pleural\s+parenchymal|band|reticul|calcif|"
            r"vertebra|bone|soft\s+tissue|fat|subcutaneous|liver|kidney|spleen|mediastin|osteo|metallic|\bstent",
            require=r"lung|lobe|segment|parenchyma|pulmonary",
        ),
        # a linear density in the lung is a (linear) opacity, whatever it is ascribed to
        Rule(
            r"linear\s+(?:[a-z]+\s+){0,2}?densit\w*|linear\s+increases?\s+in\s+densit\w*",
            void=r"vertebra|bone|soft\s+tissue|fat|subcutaneous|liver|kidney|spleen|mediastin|osteo|metallic|\bstent|"
            r"pleural\s+thicken",
            require=r"lung|lobe|segment|parenchyma|pulmonary|lingula|apical|basal",
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
        # CT-RATE counts thickening or density around the bronchi (peribronchial, peribronchovascular
        # sheath); plain bronchial wall thickening is mostly left out
        r"peribronch\w*\s+(?:[a-z]+\s+){0,4}?(?:thick\w*|densit\w*|cuff\w*|calibration)"
        r"|(?:thick\w*|densit\w*|cuff\w*|calibration)\s+(?:[a-z]+\s+){0,5}?peribronch\w*",
        # a ground-glass density in peribronchial distribution is an opacity, and a thickening of
        # the septa named after a peribronchial area belongs to the septa
        void=r"lymph|(?:ground|frosted)[\s-]*glass\s+densit\w*\s+(?:[a-z]+\s+){0,5}?peribronch"
        r"|peribronch\w*\s+(?:[a-z]+\s+){0,2}?(?:ground|frosted)[\s-]*glass"
        r"|peribronch\w*\s+(?:[a-z]+\s+){0,2}?and\s+(?:interlobular|intralobular|septal)",
    ),
    "Consolidation": Rule(
        r"consolidat\w+",
        # a consolidation that belongs to an earlier examination is history, not a finding
        void=r"ground[\s-]*glass\s+consolid|in\s+the\s+previous\s+examination\s+of\s+the\s+patient,?\s+there\s+is|"
        r"previously\s+observed\s+as|at\s+this\s+level\s+in\s+the\s+previous",
    ),
    "Bronchiectasis": Rule(r"bronchiecta\w+"),
    "Interlobular septal thickening": Rule(
        r"(?:interlobular|interlobar|intralobular|interseptal|intra-?\s*and\s+interseptal|septal)[\w\s-]{0,25}?thick\w*"
        r"|thick\w*\s+(?:of\s+)?(?:the\s+)?(?:interlobular\s+)?sept\w*|inter-?lob(?:ular|ar)\s+sept\w*"
    ),
}
# Patterns are matched against ASCII-lowercased text (same length, same offsets), without
# IGNORECASE and with word starts checked in code: both let the regex engine skip ahead by the
# first characters. A rule whose literal stems are all absent from a report is not run at all.
# Findings beyond the 18 labels, named for the viewer (same mechanism, not part of the label table).
EXTRA_RULES: dict[str, Rule | tuple[Rule, ...]] = {
    "Mass": Rule(r"mass(?:es)?\b|tumou?r\w*|malignan\w*|neoplas\w*", void=r"space-occupying|mass\s+effect"),
    "Pneumothorax": Rule(r"pneumothora\w*|hydropneumothora\w*|hydropnomothora\w*"),
    "Pleural thickening": Rule(r"pleural\s+(?:[a-z]+[\s-]+){0,2}?thicken\w*|pleural\s+effusion-thicken\w*"),
    "Fracture": Rule(r"fractur\w*"),
    "Aortic dilatation": Rule(r"aneurysm\w*|ectasia|dilat\w*", require=r"aort"),
}
FINDING_RULES = {**RULES, **EXTRA_RULES}

_COMPILED = {
    label: [
        (literal_stems(rule.mention), re.compile(rule.mention), re.compile(rule.void) if rule.void else None,
         re.compile(rule.require) if rule.require else None)
        for rule in (rules if isinstance(rules, tuple) else (rules,))
    ]
    for label, rules in FINDING_RULES.items()
}


def label_mentions(report: str, label: str, clauses: Clauses | None = None):
    """(start, end, status) of every counted mention of ``label`` (a CT-RATE label or one of
    EXTRA_RULES) in ``report``."""
    clauses = clauses or Clauses(clean_report(report))
    text = clauses.text
    out = []
    for stems, mention, void, require in _COMPILED[label]:
        for m in _word_matches(text, stems, mention):
            start = m.start()
            lo, hi = clauses.bounds(start, m.end())
            if void is not None and void.search(text, lo, hi):
                continue
            if require is not None and not require.search(text, *clauses.sentence(start, m.end())):
                continue
            out.append((start, m.end(), clauses.status(start, m.end())))
    return out


def _word_matches(text: str, stems, mention: re.Pattern):
    """Matches of ``mention`` that start at a word. With literal stems, ``str.find`` locates the
    candidate starts and the regex is only tried there (anchored), instead of scanning the text."""
    if stems is None:
        candidates = (m for m in mention.finditer(text))
        for m in candidates:
            if not (m.start() and text[m.start() - 1].isalnum()):
                yield m
        return
    starts = set()
    for stem in stems:
        i = text.find(stem)
        while i >= 0:
            starts.add(i)
            i = text.find(stem, i + 1)
    end = 0
    for pos in sorted(starts):
        if pos < end or (pos and text[pos - 1].isalnum()):
            continue
        m = mention.match(text, pos)
        if m:
            end = m.end()
            yield m


def label_report(report: str) -> dict[str, int]:
    """0/1 for each of the 18 CT-RATE labels."""
    clauses = Clauses(clean_report(report))
    return {
        label: int(any(status != ABSENT for _, _, status in label_mentions(report, label, clauses)))
        for label in CT_RATE_LABELS
    }
