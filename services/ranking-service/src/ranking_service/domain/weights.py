"""Harm weight editions (Cambridge Crime Harm Index and others) loaded from data files.

An edition is a JSON file: ``{"edition", "fallback_days", "serious_days", "weights": [{"code", "days",
"label", "domains", "default_of"}]}``. Codes are Home Office offence classes (``008/67``); ``#variant``
is one row of a class whose rows carry different scores (the plain code is then the class's default
row and lists the variants in ``default_of``), and ``x`` is a wildcard digit (``092/3x``). The packaged
``cchi-2020`` edition is built from the published sheet by ``scripts/build_cchi_edition.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import get_args

import numpy as np
from hhpu_shared.events.contracts.common import HarmDomain

# One bit per high-harm domain: the platform's (the contracts' list) and the ranking's own "robbery"
# (a Home Office group the production scope includes). Masks are uint16.
DOMAINS: tuple[str, ...] = (*get_args(HarmDomain), "robbery")
DOMAIN_BITS: dict[str, int] = {d: 1 << i for i, d in enumerate(DOMAINS)}
# An offence whose code has no weight: its domain is unknown, so it passes every domain filter
# (the filter applies after mapping, never before) and is reported.
UNMAPPED_BIT = 1 << 15
assert len(DOMAIN_BITS) < 15, "domain masks are uint16, bit 15 marks unmapped codes"
SURREY_DOMAINS = (
    "serious_sexual_offending",
    "domestic_abuse",
    "hate_crime",
    "child_abuse",
    "serious_violence",
)
# Production scope since hh_recency_harm@2: the Surrey domains plus stalking and harassment, and robbery.
HIGH_HARM_DOMAINS = (*SURREY_DOMAINS, "stalking", "robbery")


def domain_mask(domains: tuple[str, ...] | list[str]) -> int:
    mask = 0
    for d in domains:
        if d not in DOMAIN_BITS:
            raise ValueError(f"unknown harm domain {d}")
        mask |= DOMAIN_BITS[d]
    return mask


@dataclass(frozen=True)
class WeightEntry:
    code: str
    days: float
    label: str
    domains: tuple[str, ...]
    default_of: tuple[str, ...] = ()  # a class's default row: the variants it stands for


@dataclass(frozen=True)
class WeightEdition:
    edition: str
    name: str
    fallback_days: float
    entries: dict[str, WeightEntry]
    serious_days: float = 365.0
    source: str = ""
    checksum: str = ""
    meta: dict[str, str] = field(default_factory=dict)

    def days(self, code: str) -> float | None:
        e = self.entries.get(code)
        return None if e is None else e.days

    def lookup(
        self, codes: list[str], fallback: float | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Weights, domain masks and a mapped flag for a (small) list of distinct codes.

        An unmapped code gets the fallback weight and the UNMAPPED bit (it passes domain filters)."""
        fb = self.fallback_days if fallback is None else fallback
        days = np.empty(len(codes), dtype=np.float64)
        masks = np.zeros(len(codes), dtype=np.uint16)
        mapped = np.zeros(len(codes), dtype=bool)
        for i, c in enumerate(codes):
            e = self.entries.get(c)
            if e is None:
                days[i] = fb
                masks[i] = UNMAPPED_BIT
            else:
                days[i] = e.days
                masks[i] = domain_mask(e.domains)
                mapped[i] = True
        return days, masks, mapped

    def ambiguous(self, code: str) -> bool:
        """The code is a class's default row standing for variants with other scores."""
        e = self.entries.get(code)
        return e is not None and bool(e.default_of)

    def unmapped_risk(self, code: str, domains: tuple[str, ...]) -> dict[str, object]:
        """What a code missing from the edition may hide, judged by its Home Office main class
        (``NNN``): possible serious harm unless the class is known and none of its rows reaches
        `serious_days` or falls in one of `domains`. An unknown class cannot be ruled out."""
        main = code.split("#", 1)[0].split("/", 1)[0]
        rows = [e for c, e in self.entries.items() if c.split("/", 1)[0] == main]
        if not rows:
            return {"main_class": main, "known_class": False, "possible_serious_harm": True}
        top = max(e.days for e in rows)
        doms = sorted({d for e in rows for d in e.domains if d in domains})
        return {
            "main_class": main,
            "known_class": True,
            "class_max_days": top,
            "class_domains": doms,
            "possible_serious_harm": top >= self.serious_days or bool(doms),
        }


def _expand(code: str) -> list[str]:
    """``092/3x`` -> ``092/30`` ... ``092/39`` (only the class part: a ``#variant`` is literal)."""
    base, sep, variant = code.partition("#")
    if "x" not in base:
        return [code]
    i = base.index("x")
    return [c for d in "0123456789" for c in _expand(base[:i] + d + base[i + 1 :] + sep + variant)]


def parse_edition(raw: bytes) -> WeightEdition:
    import hashlib

    doc = json.loads(raw)
    entries: dict[str, WeightEntry] = {}
    for w in doc["weights"]:
        domains = tuple(w.get("domains", ()))
        domain_mask(domains)  # validates the names
        for code in _expand(str(w["code"])):
            if code in entries:
                raise ValueError(f"{doc['edition']}: code {code} given twice")
            entries[code] = WeightEntry(
                code, float(w["days"]), str(w.get("label", "")), domains, tuple(w.get("default_of", ()))
            )
    return WeightEdition(
        edition=str(doc["edition"]),
        name=str(doc.get("name", doc["edition"])),
        fallback_days=float(doc.get("fallback_days", 1.0)),
        entries=entries,
        serious_days=float(doc.get("serious_days", 365.0)),
        source=str(doc.get("source", "")),
        checksum=hashlib.sha256(raw).hexdigest(),
    )


_CACHE: dict[tuple[str, str], WeightEdition] = {}


def packaged_editions() -> list[str]:
    root = resources.files("ranking_service") / "data" / "weights"
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".json"))


def load_edition(edition: str, extra_dir: str = "") -> WeightEdition:
    """Load an edition from the package data, or from `extra_dir` (other weight sets as data)."""
    key = (edition, extra_dir)
    if key in _CACHE:
        return _CACHE[key]
    if "/" in edition or "\\" in edition or edition.startswith("."):
        raise KeyError(edition)
    raw: bytes | None = None
    if extra_dir and (Path(extra_dir) / f"{edition}.json").is_file():
        raw = (Path(extra_dir) / f"{edition}.json").read_bytes()
    else:
        res = resources.files("ranking_service") / "data" / "weights" / f"{edition}.json"
        if res.is_file():
            raw = res.read_bytes()
    if raw is None:
        raise KeyError(edition)
    ed = parse_edition(raw)
    if ed.edition != edition:
        raise ValueError(f"file {edition}.json declares edition {ed.edition}")
    _CACHE[key] = ed
    return ed


def available_editions(extra_dir: str = "") -> list[str]:
    names = set(packaged_editions())
    if extra_dir and Path(extra_dir).is_dir():
        names |= {p.stem for p in Path(extra_dir).glob("*.json")}
    return sorted(names)
