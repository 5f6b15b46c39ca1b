"""Harm weight editions (Cambridge Crime Harm Index and others) loaded from data files.

An edition is a JSON file: ``{"edition", "fallback_days", "weights": [{"code", "days", "label",
"domains"}]}``. Codes are Home Office offence classes (``008/67``); ``#variant`` distinguishes two
index rows that share a class, and ``x`` is a wildcard digit (``092/3x``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import get_args

import numpy as np
from hhpu_shared.events.contracts.common import HarmDomain

# One bit per high-harm domain of the platform (the contracts' list; at most 8 for uint8 masks).
DOMAIN_BITS: dict[str, int] = {d: 1 << i for i, d in enumerate(get_args(HarmDomain))}
assert len(DOMAIN_BITS) <= 8, "domain masks are uint8"
SURREY_DOMAINS = (
    "serious_sexual_offending",
    "domestic_abuse",
    "hate_crime",
    "child_abuse",
    "serious_violence",
)


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


@dataclass(frozen=True)
class WeightEdition:
    edition: str
    name: str
    fallback_days: float
    entries: dict[str, WeightEntry]
    source: str = ""
    checksum: str = ""
    meta: dict[str, str] = field(default_factory=dict)

    def days(self, code: str) -> float | None:
        e = self.entries.get(code)
        return None if e is None else e.days

    def lookup(
        self, codes: list[str], fallback: float | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Weights, domain masks and a mapped flag for a (small) list of distinct codes."""
        fb = self.fallback_days if fallback is None else fallback
        days = np.empty(len(codes), dtype=np.float64)
        masks = np.zeros(len(codes), dtype=np.uint8)
        mapped = np.zeros(len(codes), dtype=bool)
        for i, c in enumerate(codes):
            e = self.entries.get(c)
            if e is None:
                days[i] = fb
            else:
                days[i] = e.days
                masks[i] = domain_mask(e.domains)
                mapped[i] = True
        return days, masks, mapped


def _expand(code: str) -> list[str]:
    if "x" not in code:
        return [code]
    i = code.index("x")
    return [c for d in "0123456789" for c in _expand(code[:i] + d + code[i + 1 :])]


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
            entries[code] = WeightEntry(code, float(w["days"]), str(w.get("label", "")), domains)
    return WeightEdition(
        edition=str(doc["edition"]),
        name=str(doc.get("name", doc["edition"])),
        fallback_days=float(doc.get("fallback_days", 1.0)),
        entries=entries,
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
