"""Person search: how strongly a record matches what an officer typed (pure functions).

Names are compared normalised (case, accents, punctuation and hyphens removed), by sound (NYSIIS and
Metaphone keys, so "Marsh"/"Marshe" and "Shaun"/"Sean" meet) and by spelling distance (Jaro-Winkler,
for typing slips such as "Densin" for "Denton"), against the given, middle and family names and every
alias. A date of birth or an identifier (PNC number, records id, a partner's reference) counts for
more than a name. Scores run 0..1; reasons say why a record matched.

The database finds the records worth scoring (`name_keys` are stored with each person and
`query_keys` looked up, identifiers by `identifier_key`, a date of birth by equality), so a search
scores the few people who could match, never the whole population.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

import jellyfish

NAME_WEIGHT = 0.5
DOB_WEIGHT = 0.3
IDENTIFIER_SCORE = 1.0
MIN_SCORE = 0.25  # below this a record is not a match at all
_PNC = re.compile(r"^(?:\d{2})?(\d{2})/0*(\d{1,7})([A-Z])$")  # 91/12345A or 1991/0012345A
_PNC_COMPACT = re.compile(r"^(\d{2})0*(\d{1,7})([A-Z])$")  # 9112345A: a two-digit year


@lru_cache(maxsize=65_536)  # pure; a query is normalised once per candidate, common names recur
def normalise(text: str) -> str:
    """Lower case, accents and punctuation removed, single spaces: "O'Neil-Smith" -> "oneil smith"."""
    decomposed = unicodedata.normalize("NFKD", text)
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    letters = re.sub(r"[-_.]", " ", letters.casefold())
    return " ".join(re.sub(r"[^a-z ]", "", letters).split())


def pnc(text: str) -> str:
    """A PNC number in one canonical form: '1991/0012345A', '91/12345a' -> '91/12345A'."""
    compact = re.sub(r"[\s]", "", text).upper()
    m = _PNC.match(compact) or _PNC_COMPACT.match(compact)
    return f"{m.group(1)}/{m.group(2)}{m.group(3)}" if m else compact


def identifier(text: str) -> str:
    """Any other identifier: case and separators ignored."""
    return re.sub(r"[^A-Z0-9]", "", text.upper())


MAX_QUERY_WORDS = 12  # words of a typed name looked up (all of them are scored)


def _word_keys(word: str) -> set[str]:
    """One normalised word's keys: itself, its sound and, from four letters, every spelling with one
    letter less. Two words one typing slip apart (a letter wrong, missing, extra or two swapped)
    share a key, as do two that sound alike."""
    keys = {f"w:{word}"}
    if len(word) > 1:
        keys |= {f"y:{jellyfish.nysiis(word)}", f"m:{jellyfish.metaphone(word)}"}
    if len(word) >= 4:
        keys |= {f"w:{word[:i]}{word[i + 1 :]}" for i in range(len(word))}
    return {k[:120] for k in keys if len(k) > 2}


def name_keys(names: Sequence[str]) -> set[str]:
    """The keys a person's names and aliases are looked up by (stored with the person)."""
    return {k for name in names for word in normalise(name).split() for k in _word_keys(word)}


def query_keys(name: str) -> set[str]:
    """The keys a typed name looks up: a person who shares one is scored (see `score`)."""
    return {k for word in normalise(name).split()[:MAX_QUERY_WORDS] for k in _word_keys(word)}


def identifier_key(kind: str, value: str) -> str:
    """An identifier as a search compares it: a PNC number canonical, any other case and
    separators ignored; a partner's reference without its agency ("<agency id>/<reference>")."""
    if kind == "pnc":
        return pnc(value)
    if kind == "partner_reference":
        value = value.split("/", 1)[-1]
    return identifier(value)


def identifier_lookups(text: str) -> set[str]:
    """The identifier keys a typed identifier may be stored as (a PNC number, or any other)."""
    return {pnc(text), identifier(text)} - {""}


@dataclass(frozen=True)
class Query:
    name: str = ""
    date_of_birth: date | None = None
    identifier: str = ""

    @property
    def empty(self) -> bool:
        return not (normalise(self.name) or self.date_of_birth or self.identifier.strip())


@dataclass(frozen=True)
class Candidate:
    id: str
    names: Sequence[str]  # full names: "given middle family" first, then each alias
    date_of_birth: date | None
    identifiers: Sequence[tuple[str, str]] = ()  # (kind, value)


@dataclass
class Match:
    id: str
    score: float
    reasons: list[str] = field(default_factory=list)


@lru_cache(maxsize=65_536)
def _token_score(q: str, c: str) -> tuple[float, str]:
    if q == c:
        return 1.0, "exact"
    if (
        len(q) > 1
        and len(c) > 1
        and (jellyfish.nysiis(q) == jellyfish.nysiis(c) or jellyfish.metaphone(q) == jellyfish.metaphone(c))
    ):
        return 0.9, "sounds alike"
    jw = jellyfish.jaro_winkler_similarity(q, c)
    return (jw * 0.85, "spelt alike") if jw >= 0.85 else (0.0, "")


def name_score(query: str, name: str) -> tuple[float, str]:
    """How well the typed name matches one full name: every typed word against its best word there."""
    q_tokens, c_tokens = normalise(query).split(), normalise(name).split()
    if not q_tokens or not c_tokens:
        return 0.0, ""
    total, kinds = 0.0, set()
    for q in q_tokens:
        best, kind = max((_token_score(q, c) for c in c_tokens), key=lambda t: t[0])
        total += best
        if kind:
            kinds.add(kind)
    score = total / len(q_tokens)
    worst = (
        "spelt alike" if "spelt alike" in kinds else ("sounds alike" if "sounds alike" in kinds else "exact")
    )
    return score, worst


def score(query: Query, cand: Candidate) -> Match | None:
    """The match of one record, or None when it does not match."""
    m = Match(cand.id, 0.0)
    wanted_id = query.identifier.strip()
    if wanted_id:
        for kind, value in cand.identifiers:
            same = (
                pnc(value) == pnc(wanted_id) if kind == "pnc" else identifier(value) == identifier(wanted_id)
            )
            if same:
                m.score = IDENTIFIER_SCORE
                m.reasons.append(f"{kind} matches")
                break
        else:
            if not normalise(query.name) and not query.date_of_birth:
                return None
    if normalise(query.name):
        best, how, which = 0.0, "", 0
        for i, name in enumerate(cand.names):
            s, kind = name_score(query.name, name)
            if s > best:
                best, how, which = s, kind, i
        if best == 0.0 and not m.reasons:
            return None
        if best:
            m.score = max(m.score, m.score * 0.5 + NAME_WEIGHT * best)
            m.reasons.append(f"name {how}" + (" (alias)" if which > 0 else ""))
    if query.date_of_birth is not None:
        if cand.date_of_birth == query.date_of_birth:
            m.score += DOB_WEIGHT if normalise(query.name) else 0.6
            m.reasons.append("date of birth matches")
        elif normalise(query.name) and not m.reasons[:1] == ["pnc matches"]:
            m.score *= 0.6  # a name match on the wrong date of birth is weak
    m.score = round(min(m.score, 1.0), 3)
    return m if m.score >= MIN_SCORE or "matches" in " ".join(m.reasons) else None


def rank(query: Query, candidates: Sequence[Candidate]) -> list[Match]:
    """Every matching record, strongest first (ties by id, so pages are stable)."""
    found = [m for c in candidates if (m := score(query, c)) is not None]
    return sorted(found, key=lambda m: (-m.score, m.id))
