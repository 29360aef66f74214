"""Family B reports: a terse, British-style dictation written from a case's planned findings.

Every present finding gets a sentence of its own (several wordings each), absent ones are denied in
grouped sentences (also varied, some left unsaid), a few normal-anatomy remarks are added, and a
numbered impression repeats the positives. Sizes never end a sentence ("8 mm." would read as an
abbreviation to the sentence splitter).
"""

from __future__ import annotations

import numpy as np


def _pick(rng, options):
    return options[int(rng.integers(len(options)))]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


# ---------------------------------------------------------------------------- positive sentences
def _nodule(d, rng):
    size, lobe, n = round(d["size_mm"]), d["lobe"], d.get("count", 1)
    if n == 1:
        return _pick(rng, (
            f"{size} mm solid nodule in the {lobe}.",
            f"Solitary {size} mm pulmonary nodule, {lobe}.",
            f"There is a {size} mm nodule in the {lobe}.",
            f"Well-circumscribed nodule in the {lobe} measuring {size} mm in diameter.",
            f"A small solid nodule sits in the {lobe}, {size} mm across.",
        ))
    word = {2: "Two", 3: "Three"}[n]
    return _pick(rng, (
        f"{word} solid pulmonary nodules, the largest {size} mm in the {lobe}.",
        f"{word} nodules are present; the dominant one lies in the {lobe} and measures {size} mm across.",
        f"{word} scattered lung nodules, largest in the {lobe} at {size} mm in diameter.",
    ))


def _consolidation(d, rng):
    lobe = d["lobe"]
    return _pick(rng, (
        f"Dense consolidation in the {lobe} with air bronchograms.",
        f"Airspace consolidation within the {lobe}.",
        f"{_cap(lobe)} consolidation.",
        f"Segmental consolidation, {lobe}.",
        f"There is consolidation of part of the {lobe}.",
    ))


def _ground_glass(d, rng):
    lobe = d["lobe"]
    return _pick(rng, (
        f"Patchy ground-glass opacification in the {lobe}.",
        f"Area of ground glass change in the {lobe}.",
        f"Hazy ground-glass opacity, {lobe}.",
        f"Focal ground-glass attenuation in the {lobe}.",
    ))


def _emphysema(d, rng):
    if d["where"] == "paraseptal":
        return _pick(rng, (
            "Paraseptal emphysema along the upper lobes.",
            "Subpleural paraseptal emphysematous change at both apices.",
        ))
    return _pick(rng, (
        "Centrilobular emphysema, upper zone predominant.",
        "Upper lobe predominant centrilobular emphysematous change.",
        "Emphysema in both upper lobes, centrilobular in type.",
    ))


def _septal(d, rng):
    return _pick(rng, (
        "Smooth interlobular septal thickening at both lung bases.",
        "Subpleural septal thickening in the lower zones.",
        "Thickened interlobular septa at the bases bilaterally.",
    ))


def _bronchiectasis(d, rng):
    lobe = d["lobe"]
    return _pick(rng, (
        f"Cylindrical bronchiectasis in the {lobe}.",
        f"Bronchiectatic airways in the {lobe}.",
        f"Dilated thick-walled bronchi in the {lobe} in keeping with bronchiectasis.",
    ))


def _atelectasis(d, rng):
    lobe = d["lobe"]
    if d["where"] == "compressive":
        return _pick(rng, (
            f"Adjacent passive atelectasis of the {lobe}.",
            f"Compressive atelectasis of the dependent {lobe}.",
            f"Some relaxation atelectasis in the {lobe}.",
        ))
    return _pick(rng, (
        f"Plate-like atelectasis in the {lobe}.",
        f"Subsegmental atelectasis, {lobe}.",
        f"Linear atelectasis in the {lobe}.",
    ))


def _pleural(d, rng):
    side, size = d["side"], d["size"]
    if side == "bilateral":
        return _pick(rng, (
            f"{_cap(size)} bilateral pleural effusions.",
            f"Bilateral {size} pleural effusions with dependent layering.",
            f"{_cap(size)} pleural effusions on both sides.",
        ))
    return _pick(rng, (
        f"{_cap(size)} {side} pleural effusion.",
        f"{_cap(size)} {side}-sided pleural effusion with dependent layering.",
        f"A {size} layering effusion on the {side}.",
        f"{_cap(size)} {side} pleural fluid collection.",
    ))


def _cardiomegaly(d, rng):
    return _pick(rng, (
        "Cardiomegaly.",
        "The heart is enlarged.",
        "Cardiac size is increased.",
        "Heart size is enlarged.",
        "Moderate cardiomegaly.",
    ))


def _pericardial(d, rng):
    depth = round(d["size_mm"])
    size = "small" if depth < 10 else "moderate"
    return _pick(rng, (
        f"{_cap(size)} pericardial effusion, up to {depth} mm in depth.",
        f"Pericardial effusion with a maximal depth of {depth} mm around the ventricles.",
        "A rim of pericardial fluid surrounds the heart.",
        f"{_cap(size)} pericardial effusion.",
    ))


def _lymph(d, rng):
    where, size = d["where"], round(d["size_mm"])
    if d.get("count", 1) > 1:
        return _pick(rng, (
            f"Mediastinal and hilar lymphadenopathy, the largest in the {where} station at {size} mm short axis.",
            f"Several enlarged lymph nodes, the largest {where} measuring {size} mm in short axis.",
        ))
    return _pick(rng, (
        f"Enlarged {where} lymph node measuring {size} mm in short axis.",
        f"{size} mm {where} lymph node.",
        f"{_cap(where)} lymphadenopathy, {size} mm in short axis.",
    ))


def _aortic(d, rng):
    where = d["where"]
    return _pick(rng, (
        f"Atherosclerotic calcification of the {where}.",
        f"Calcified atheroma in the {where}.",
        "Scattered mural calcification of the thoracic aorta.",
        f"Calcified plaques along the {where}.",
    ))


def _coronary(d, rng):
    return _pick(rng, (
        "Coronary artery calcification.",
        "Calcified plaque in the LAD territory.",
        "Dense coronary calcification.",
        "Mild coronary artery calcification.",
    ))


def _hernia(d, rng):
    return _pick(rng, (
        "Small sliding hiatus hernia.",
        "Moderate hiatal hernia.",
        "Hiatus hernia containing a small portion of stomach.",
    ))


def _material(d, rng):
    kind = d["where"]
    if kind == "pacemaker":
        return _pick(rng, (
            "Left-sided pacemaker with a lead in the right ventricle.",
            "Pacemaker generator in the left chest wall, lead in situ.",
        ))
    if kind == "port":
        return _pick(rng, (
            "Right chest wall port with its catheter tip in the SVC.",
            "Right-sided port catheter, tip at the cavoatrial junction.",
        ))
    return _pick(rng, (
        "Right internal jugular central venous catheter, tip in the lower SVC.",
        "Right-sided central venous catheter with its tip at the cavoatrial junction.",
    ))


POSITIVE = {
    "emphysema": _emphysema, "lung_nodule": _nodule, "consolidation": _consolidation,
    "ground_glass": _ground_glass, "atelectasis": _atelectasis, "bronchiectasis": _bronchiectasis,
    "septal_thickening": _septal, "pleural_effusion": _pleural, "cardiomegaly": _cardiomegaly,
    "pericardial_effusion": _pericardial, "coronary_calcification": _coronary,
    "aortic_calcification": _aortic, "lymphadenopathy": _lymph, "hiatal_hernia": _hernia,
    "medical_material": _material,
}

# ---------------------------------------------------------------------------- negated mentions
NEGATED_TERMS = {
    "lung_nodule": ("pulmonary nodule", "suspicious lung nodule", "focal nodule"),
    "consolidation": ("consolidation", "focal consolidation"),
    "ground_glass": ("ground-glass opacity", "ground glass change"),
    "emphysema": ("emphysema", "emphysematous change"),
    "atelectasis": ("atelectasis",),
    "bronchiectasis": ("bronchiectasis",),
    "septal_thickening": ("septal thickening", "interlobular septal thickening"),
    "pleural_effusion": ("pleural effusion",),
    "pericardial_effusion": ("pericardial effusion", "pericardial fluid"),
    "lymphadenopathy": ("lymphadenopathy", "lymph node enlargement"),
    "aortic_calcification": ("aortic calcification", "aortic wall calcification"),
    "coronary_calcification": ("coronary artery calcification", "coronary calcification"),
    "hiatal_hernia": ("hiatus hernia", "hiatal hernia"),
    "medical_material": ("indwelling catheter",),
}
_LUNG = ("lung_nodule", "consolidation", "ground_glass", "emphysema", "atelectasis", "bronchiectasis",
         "septal_thickening")


def _join(terms):
    return terms[0] if len(terms) == 1 else ", ".join(terms[:-1]) + " or " + terms[-1]


def _deny(terms, rng) -> str:
    listed = _join(terms)
    forms = [f"No {listed}.", f"There is no {listed}.", f"No evidence of {listed}."]
    if len(terms) == 1:
        forms += [f"{_cap(listed)} is not seen.", f"Negative for {listed}."]
    return _pick(rng, forms)


def _denials(absent, rng, keep=0.85):
    terms = [_pick(rng, NEGATED_TERMS[f]) for f in absent if f in NEGATED_TERMS and rng.random() < keep]
    out, i = [], 0
    while i < len(terms):
        n = int(rng.integers(1, 4))
        out.append(_deny(terms[i:i + n], rng))
        i += n
    return out


# ---------------------------------------------------------------------------- impression
def _impression_item(name, d, rng):
    lobe = d.get("lobe", "")
    items = {
        "lung_nodule": lambda: _pick(rng, (f"{round(d['size_mm'])} mm {lobe} nodule; follow-up CT advised.",
                                           f"Pulmonary nodule in the {lobe}.")),
        "consolidation": lambda: _pick(rng, (f"{_cap(lobe)} consolidation, in keeping with infection.",
                                             f"Consolidation in the {lobe}.")),
        "ground_glass": lambda: f"Ground-glass opacity in the {lobe}.",
        "emphysema": lambda: _pick(rng, ("Emphysema.", f"{_cap(d['where'])} emphysema.")),
        "atelectasis": lambda: f"Atelectasis of the {lobe}.",
        "bronchiectasis": lambda: f"Bronchiectasis in the {lobe}.",
        "septal_thickening": lambda: "Interlobular septal thickening at the bases.",
        "pleural_effusion": lambda: (f"{_cap(d['size'])} bilateral pleural effusions." if d["side"] == "bilateral"
                                     else f"{_cap(d['size'])} {d['side']} pleural effusion."),
        "cardiomegaly": lambda: "Cardiomegaly.",
        "pericardial_effusion": lambda: "Pericardial effusion.",
        "lymphadenopathy": lambda: _pick(rng, ("Thoracic lymphadenopathy.", f"Enlarged {d['where']} lymph node.")),
        "aortic_calcification": lambda: _pick(rng, ("Aortic atherosclerosis.", "Calcified aortic atheroma.")),
        "coronary_calcification": lambda: "Coronary artery calcification.",
        "hiatal_hernia": lambda: "Hiatus hernia.",
        "medical_material": lambda: {"pacemaker": "Pacemaker in situ.", "port": "Port catheter in situ."}.get(
            d["where"], "Central venous catheter in situ."),
    }
    return items[name]()


NORMAL = (
    ("The trachea and central airways are patent.", "Central airways are clear."),
    ("Thoracic aorta of normal calibre.", "The aorta is normal in calibre."),
    ("No pneumothorax.", "No pneumothorax is seen."),
    ("Visualised upper abdomen unremarkable.", "Limited views of the liver and spleen are unremarkable."),
    ("Mild degenerative change in the thoracic spine.", "No destructive bone lesion.",
     "Chest wall soft tissues unremarkable."),
    ("Thyroid unremarkable.",),
)
INDICATION = ("Persistent cough.", "Breathlessness.", "Weight loss, smoker.", "Chest pain.", "Follow-up.")
HEADER = ("CT THORAX, NON-CONTRAST", "CT CHEST WITHOUT CONTRAST", "UNENHANCED CT CHEST")
NONE_IMPRESSION = ("No acute cardiopulmonary abnormality.", "Normal CT chest.", "Unremarkable study.")


def write_report(details: dict, drawable: tuple[str, ...], rng: np.random.Generator) -> str:
    """The report for ``details`` (present findings); findings of ``drawable`` not in it are absent."""
    present = [f for f in drawable if f in details]
    absent = [f for f in drawable if f not in details]
    lines = [_pick(rng, HEADER), f"Indication: {_pick(rng, INDICATION)}",
             "Technique: Volumetric acquisition from the thoracic inlet to the upper abdomen, axial reconstructions.",
             "", "FINDINGS:"]
    lung = [POSITIVE[f](details[f], rng) for f in present if f in _LUNG]
    lung += _denials([f for f in absent if f in _LUNG], rng)
    prefix = _pick(rng, ("Lungs: ", "", ""))
    lines.append(prefix + " ".join(lung) if lung else "Lungs clear.")
    pleura = [POSITIVE["pleural_effusion"](details["pleural_effusion"], rng)] if "pleural_effusion" in present \
        else _denials(["pleural_effusion"], rng, keep=0.9)
    pleura.append(_pick(rng, NORMAL[2]))
    lines.append(" ".join(pleura))
    mediastinum = [POSITIVE[f](details[f], rng) for f in present
                   if f in ("cardiomegaly", "pericardial_effusion", "coronary_calcification", "aortic_calcification",
                            "lymphadenopathy", "hiatal_hernia", "medical_material")]
    if "cardiomegaly" not in present and rng.random() < 0.7:
        mediastinum.insert(0, _pick(rng, ("Heart size normal.", "Normal cardiac size.", "No cardiomegaly.")))
    mediastinum += _denials([f for f in absent if f in ("pericardial_effusion", "lymphadenopathy",
                                                       "aortic_calcification", "coronary_calcification",
                                                       "hiatal_hernia", "medical_material")], rng)
    mediastinum += [_pick(rng, NORMAL[0]), _pick(rng, NORMAL[1])]
    lines.append(" ".join(mediastinum))
    lines.append(" ".join(_pick(rng, group) for group in NORMAL[3:] if rng.random() < 0.7) or _pick(rng, NORMAL[3]))
    lines += ["", "IMPRESSION:"]
    if present:
        lines += [f"{i}. {_impression_item(f, details[f], rng)}" for i, f in enumerate(present, 1)]
    else:
        lines.append(_pick(rng, NONE_IMPRESSION))
    return "\n".join(lines)
