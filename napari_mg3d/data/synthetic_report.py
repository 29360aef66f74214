"""Reports for synthetic cases, in one of three styles (``STYLES``): every finding present is
stated with its place (lobe, side, station) and size, some absent ones are denied, and an
impression lists what is present. Phrasings are in ``synthetic_phrases``."""

from __future__ import annotations

from .synthetic_phrases import FILLERS, NORMAL_IMPRESSION, P

STYLES = ("ct_rate", "us", "structured")
ABBR = {"right upper lobe": "RUL", "right middle lobe": "RML", "right lower lobe": "RLL",
        "left upper lobe": "LUL", "left lower lobe": "LLL"}
GROUP = {
    "medical_material": "devices", "pleural_effusion": "pleura", "cardiomegaly": "heart",
    "pericardial_effusion": "heart", "coronary_calcification": "heart", "arterial_calcification": "aorta",
    "lymphadenopathy": "mediastinum", "hiatal_hernia": "esophagus",
}  # every other finding: "lungs"
LUNG_ORDER = ("emphysema", "nodule", "lung_opacity", "consolidation", "atelectasis", "fibrotic_sequela",
              "mosaic_attenuation", "septal_thickening", "peribronchial_thickening", "bronchiectasis")
ORDER = {
    "ct_rate": ("airways", "heart", "aorta", "esophagus", "mediastinum", "lungs", "pleura", "devices", "abdomen", "bones"),
    "us": ("devices", "airways", "lungs", "pleura", "heart", "aorta", "mediastinum", "esophagus", "abdomen", "bones"),
    "structured": ("devices", "lungs", "pleura", "heart", "aorta", "mediastinum", "esophagus", "abdomen", "bones"),
}
HEADINGS = {"devices": "SUPPORT DEVICES", "lungs": "LUNGS AND AIRWAYS", "pleura": "PLEURA", "heart": "HEART AND PERICARDIUM",
            "aorta": "AORTA", "mediastinum": "MEDIASTINUM AND HILA", "esophagus": "ESOPHAGUS", "abdomen": "UPPER ABDOMEN",
            "bones": "BONES"}
FILLER_GROUP = {"ct_rate": ("airways", "bones", "abdomen", "lungs"), "us": ("airways", "bones", "abdomen"),
                "structured": ("airways", "bones", "abdomen")}
NUMBER = {2: "two", 3: "three", 4: "four"}
DEVICE = {  # kind -> (Device, where, end, noun, terse)
    "pacemaker": ("A pacemaker", " in the left chest wall", "lead", "Pacemaker", "Left chest wall pacemaker"),
    "central venous catheter": ("A central venous catheter", "", "tip", "Central venous catheter", "Central venous catheter"),
    "port catheter": ("A port catheter", " in the right chest wall", "tip", "Port catheter", "Right chest port catheter"),
}
CHARS = 450  # about 120 tokens: the findings section fits mg3d-tiny's 128-token budget (positives first)


def _a(n: int) -> str:
    return "an" if str(n).startswith("8") or n in (11, 18) else "a"


def _where(lobes, abbr=False) -> str:
    lobes = set(lobes)
    if len(lobes) == 5:
        return "both lungs"
    if lobes == {"right upper lobe", "left upper lobe"}:
        return "both upper lobes"
    if lobes == {"right lower lobe", "left lower lobe"}:
        return "both lower lobes"
    (lobe,) = lobes
    return f"the {ABBR[lobe] if abbr else lobe}"


def context(finding: str, d: dict) -> dict:
    """The {fields} of a finding's phrasings, with Capitalised variants of each."""
    c = {k: v for k, v in d.items() if isinstance(v, str)}
    if "lobe" in d:
        c["abbr"] = ABBR[d["lobe"]]
    if "lobes" in d:
        c["where"], c["where_us"] = _where(d["lobes"]), _where(d["lobes"], abbr=True)
    if finding == "nodule":
        size = int(d["size_mm"])
        c.update(size=size, a_size=f"{_a(size)} {size}", count=NUMBER.get(d["count"], str(d["count"])))
    elif finding == "pleural_effusion":
        c["side"] = {"both": "bilateral"}.get(d["side"], d["side"])
        c["side_loc"] = {"both": "on both sides"}.get(d["side"], f"on the {d['side']}")
    elif finding == "pericardial_effusion":
        t = int(round(d["thickness_mm"]))
        c.update(pthick=t, psize="small" if t < 10 else "moderate" if t < 20 else "large")
    elif finding == "coronary_calcification":
        names = [{"LCx": "circumflex"}.get(a, a) for a in d["arteries"]]
        c["arteries"] = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
    elif finding == "hiatal_hernia":
        s = int(d["size_mm"])
        c.update(hsize=s, Hsize="small" if s < 30 else "moderate" if s < 45 else "large")
    elif finding == "lymphadenopathy":
        st = d["stations"]
        c.update(stations=" and ".join([", ".join(st[:-1]), st[-1]] if len(st) > 1 else st),
                 regions="regions" if len(st) > 1 else "region", lsize=int(d["size_mm"]))
    elif finding == "lung_opacity":
        c["gsize"] = int(d["size_mm"])
    elif finding == "medical_material":
        c["Device"], c["device_where"], c["end"], c["Device_noun"], c["Device_terse"] = DEVICE[d["kind"]]
    for k, v in list(c.items()):
        if isinstance(v, str) and v and k[0].islower():
            c.setdefault(k[0].upper() + k[1:], v[0].upper() + v[1:])
    return c


def _phrases(style, finding, d):
    key = "nodule_multi" if finding == "nodule" and d.get("count", 1) > 1 else finding
    return P[style][key]


def write_report(details: dict[str, dict], rng, style: str | None = None, findings=None) -> str:
    """A report stating each finding in ``details`` (finding -> details) and denying some of the
    other ``findings`` (all the generator's findings by default). ``style``: one of STYLES, or
    drawn at random."""
    from .synthetic import FINDINGS

    style = str(rng.choice(STYLES)) if style is None else style
    if style not in STYLES:
        raise ValueError(f"unknown report style {style!r}; choose from {', '.join(STYLES)}")
    names = [f for f in (findings or FINDINGS) if f not in details]
    # what is said: every finding present, then absent ones (and fillers) while the budget lasts
    said: dict[str, list[str]] = {g: [] for g in ORDER[style]}
    order = [f for f in LUNG_ORDER + tuple(GROUP) if f in details or f in names]
    used = 0
    for f in order:
        if f in details:
            text = str(rng.choice(_phrases(style, f, details[f])[0])).format(**context(f, details[f]))
            said[GROUP.get(f, "lungs")].append((f, text))
            used += len(text) + 1
    extras = [(f, str(rng.choice(P[style][f][1]))) for f in names if P[style][f][1] and rng.random() < 0.6]
    extras += [(g, t) for g, t in zip(FILLER_GROUP[style], FILLERS[style]) if rng.random() < 0.7]
    rng.shuffle(extras)
    for f, text in extras:
        if used + len(text) + 1 > CHARS:
            continue
        group = GROUP.get(f, "lungs") if f in P[style] else f
        said[group if group in said else "lungs"].append((f, text))
        used += len(text) + 1
    rank = {f: i for i, f in enumerate(order)}
    lines = []
    for g in ORDER[style]:
        sentences = [t for _, t in sorted(said.get(g, []), key=lambda ft: rank.get(ft[0], -1))]
        if style == "structured":
            lines.append(f"{HEADINGS[g]}: " + (" ".join(sentences) if sentences else "Unremarkable."))
        elif sentences:
            lines.append(" ".join(sentences))
    present = [f for f in order if f in details]
    impression = [str(rng.choice(_phrases(style, f, details[f])[2])).format(**context(f, details[f])) for f in present]
    impression = impression or [NORMAL_IMPRESSION[style]]
    if style == "ct_rate":
        return "Findings: " + " ".join(lines) + "\nImpression: " + " ".join(impression)
    if style == "us":
        return "FINDINGS:\n" + "\n".join(lines) + "\n\nIMPRESSION:\n" + "\n".join(
            f"{i}. {t}" for i, t in enumerate(impression, 1))
    return "FINDINGS:\n" + "\n".join(lines) + "\n\nIMPRESSION:\n" + "\n".join(f"- {t}" for t in impression)
