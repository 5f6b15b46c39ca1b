"""Person matching: grade a referral subject against a known person, as FHIR ``$match`` does.

Grades: ``certain`` (a shared identifier, nothing contradicting), ``probable`` (same date of birth and
the same names once normalised or by sound, middle names may differ), ``possible`` (weaker agreement
worth a human look), ``none``. Nothing here merges anything: probable and possible go to review.
"""

from __future__ import annotations

import re
import unicodedata
from calendar import isleap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import lru_cache

from rapidfuzz import fuzz


class Grade(StrEnum):
    """The contract's MatchGrade (hhpu_shared.events.contracts.referral) as an enum: the same values."""

    CERTAIN = "certain"
    PROBABLE = "probable"
    POSSIBLE = "possible"
    NONE = "none"


GRADE_ORDER = {Grade.CERTAIN: 3, Grade.PROBABLE: 2, Grade.POSSIBLE: 1, Grade.NONE: 0}

# A referral's own subject is known under this prefix and the referral's id until matched to a person.
REFERRAL_PERSON_PREFIX = "referral:"
_PNC = re.compile(r"^(\d{2}|\d{4})/?(\d{1,7})([A-Z])$")
_NOT_LETTER = re.compile(r"[^a-z]+")
_SOUNDEX_CODES = {
    **dict.fromkeys("bfpv", "1"),
    **dict.fromkeys("cgjkqsxz", "2"),
    **dict.fromkeys("dt", "3"),
    "l": "4",
    **dict.fromkeys("mn", "5"),
    "r": "6",
}


@dataclass(frozen=True)
class PersonRecord:
    """A person as the matcher sees them (a referral subject or a known person)."""

    given_name: str
    family_name: str
    middle_names: str | None = None
    aliases: tuple[str, ...] = ()
    date_of_birth: date | None = None
    pnc_number: str | None = None
    records_id: str | None = None
    person_ref: str = ""


@dataclass(frozen=True)
class MatchResult:
    person_ref: str
    grade: Grade
    score: float
    reasons: tuple[str, ...] = field(default_factory=tuple)


# -- normalisation -------------------------------------------------------------------------------
def fold(text: str) -> str:
    """Lower case without accents: 'Zoë' -> 'zoe'."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def tokens(name: str | None) -> list[str]:
    """Name words, normalised; hyphens and spaces separate words, apostrophes do not ('O'Brien')."""
    if not name:
        return []
    folded = fold(name).replace("'", "").replace("\u2019", "")
    return [t for t in re.split(r"[\s\-]+", _NOT_LETTER.sub(" ", folded.replace("-", " "))) if t]


@lru_cache(maxsize=65536)
def compact(name: str | None) -> str:
    """All letters of a name, joined: 'Smith-Jones' and 'Smith Jones' both become 'smithjones'."""
    if name and name.isascii():  # most names: the same letters as `tokens` gives, without folding
        return _NOT_LETTER.sub("", name.lower())
    return "".join(tokens(name))


@lru_cache(maxsize=65536)
def soundex(name: str | None) -> str:
    """American Soundex of the letters of a name ('' when there are none)."""
    letters = compact(name)
    if not letters:
        return ""
    first = letters[0]
    out = [first.upper()]
    last = _SOUNDEX_CODES.get(first, "")
    for ch in letters[1:]:
        code = _SOUNDEX_CODES.get(ch, "")
        if code and code != last:
            out.append(code)
            if len(out) == 4:
                break
        if ch not in "hw":  # h and w do not separate letters with the same code
            last = code
    return "".join(out).ljust(4, "0")


def normalise_pnc(pnc: str | None) -> str | None:
    """Canonical PNC number 'YY/NNNNNNNL' (e.g. '2001/123A' and '01/0000123a' agree)."""
    if not pnc:
        return None
    raw = re.sub(r"\s+", "", pnc).upper()
    m = _PNC.match(raw)
    if not m:
        return raw
    year, serial, letter = m.groups()
    return f"{year[-2:]}/{int(serial):07d}{letter}"


def name_keys(person: PersonRecord) -> set[str]:
    """Blocking keys 'GIVEN:FAMILY' (Soundex of both) of every name and alias of the person.

    Every grade above ``none`` that does not rest on an identifier or the exact birth date needs a
    name pair agreeing exactly or by sound on both given and family name, and a birth date that is
    missing or ``partial`` (see ``partial_dobs``). So two people who could be graded above ``none``
    share an identifier, their birth date, or a name key with a partial or missing birth date: each
    is an index lookup whose result does not grow with the number of people known.
    """
    out = set()
    for given, family in _names(person):
        g, f = soundex(given), soundex(family)
        if g and f:
            out.add(f"{g}:{f}")
    return out


@lru_cache(maxsize=8192)
def partial_dobs(d: date) -> tuple[date, ...]:
    """Every date ``compare_dob`` calls ``partial`` against `d` (day and month swapped, one digit off),
    in order.

    Computed from the date's parts (each digit of 'YYYY-MM-DD' replaced by the nine others, the valid
    dates kept), not by parsing 72 strings of which most raise; cached, since birth dates repeat."""
    y, m, day = d.year, d.month, d.day
    out: set[date] = set()
    if day <= 12 and day != m:
        out.add(date(y, day, m))
    for place in (1000, 100, 10, 1):
        for y2 in _digit_variants(y, place):
            if y2 >= 1 and day <= _days_in_month(y2, m):
                out.add(date(y2, m, day))
    for place in (10, 1):
        for m2 in _digit_variants(m, place):
            if 1 <= m2 <= 12 and day <= _days_in_month(y, m2):
                out.add(date(y, m2, day))
        last = _days_in_month(y, m)
        out.update(date(y, m, d2) for d2 in _digit_variants(day, place) if 1 <= d2 <= last)
    return tuple(sorted(out))


_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _days_in_month(year: int, month: int) -> int:
    return 29 if month == 2 and isleap(year) else _MONTH_DAYS[month]


def _digit_variants(n: int, place: int) -> list[int]:
    """`n` with its digit at `place` (1, 10, 100...) replaced by each of the nine other digits."""
    digit = n // place % 10
    return [n + (k - digit) * place for k in range(10) if k != digit]


def _split_alias(alias: str) -> tuple[str, str]:
    words = alias.split()
    if len(words) < 2:
        return "", alias
    return words[0], words[-1]


# -- comparison ------------------------------------------------------------------------------------
def compare_names(a: str | None, b: str | None) -> str:
    """exact | phonetic | similar | initial | missing | conflict."""
    ca, cb = compact(a), compact(b)
    if not ca or not cb:
        return "missing"
    if ca == cb:
        return "exact"
    if len(ca) == 1 or len(cb) == 1:
        return "initial" if ca[0] == cb[0] else "conflict"
    if soundex(ca) == soundex(cb):
        return "phonetic"
    if fuzz.ratio(ca, cb) >= 85:
        return "similar"
    return "conflict"


def compare_dob(a: date | None, b: date | None) -> str:
    """exact | partial (day and month swapped, or one digit wrong) | missing | conflict."""
    if a is None or b is None:
        return "missing"
    if a == b:
        return "exact"
    if a.year == b.year and a.month == b.day and a.day == b.month:
        return "partial"
    sa, sb = a.isoformat(), b.isoformat()
    if sum(x != y for x, y in zip(sa, sb, strict=True)) == 1:
        return "partial"
    return "conflict"


_FAMILY_POINTS = {"exact": 4.0, "phonetic": 3.0, "similar": 2.5}
_GIVEN_POINTS = {"exact": 3.0, "phonetic": 2.5, "similar": 2.0, "initial": 1.0}
_MIDDLE_POINTS = {"exact": 1.0, "phonetic": 0.5, "similar": 0.5, "initial": 0.25, "conflict": -0.5}
_DOB_POINTS = {"exact": 4.0, "partial": 1.5, "conflict": -4.0}
_RANK = {"exact": 4, "phonetic": 3, "similar": 2, "initial": 1, "missing": 0, "conflict": 0}


def _names(p: PersonRecord) -> list[tuple[str, str]]:
    return [(p.given_name, p.family_name)] + [_split_alias(a) for a in p.aliases]


def _best_name_pair(a: PersonRecord, b: PersonRecord) -> tuple[str, str, bool]:
    """The best (given, family) agreement over every name and alias of both; flags an alias match."""
    best = ("conflict", "conflict", False)
    best_key = (-1, -1)
    for i, (ga, fa) in enumerate(_names(a)):
        for j, (gb, fb) in enumerate(_names(b)):
            g, f = compare_names(ga, gb), compare_names(fa, fb)
            key = (_RANK[f], _RANK[g])
            if key > best_key:
                best, best_key = (g, f, i > 0 or j > 0), key
    return best


def _shares_identifier(
    pnc_a: str | None, records_a: str | None, pnc_b: str | None, records_b: str | None
) -> bool:
    """The same PNC number (both as `normalise_pnc` gives them) or the same records id."""
    return (pnc_a is not None and pnc_a == pnc_b) or (records_a is not None and records_a == records_b)


def grade_pair(subject: PersonRecord, known: PersonRecord) -> MatchResult:
    """Grade one known person against the subject, with the reasons a reviewer will see."""
    reasons: list[str] = []
    dob = compare_dob(subject.date_of_birth, known.date_of_birth)
    pnc_a, pnc_b = normalise_pnc(subject.pnc_number), normalise_pnc(known.pnc_number)
    same_id = _shares_identifier(pnc_a, subject.records_id, pnc_b, known.records_id)
    id_conflict = (pnc_a is not None and pnc_b is not None and pnc_a != pnc_b) or (
        subject.records_id is not None
        and known.records_id is not None
        and subject.records_id != known.records_id
    )
    given, family, via_alias = _best_name_pair(subject, known)
    middle = compare_names(subject.middle_names, known.middle_names)
    score = (
        _FAMILY_POINTS.get(family, 0.0)
        + _GIVEN_POINTS.get(given, 0.0)
        + _MIDDLE_POINTS.get(middle, 0.0)
        + _DOB_POINTS.get(dob, 0.0)
    )
    reasons += [f"given_name:{given}", f"family_name:{family}", f"middle_names:{middle}", f"dob:{dob}"]
    if via_alias:
        reasons.append("matched_on_alias")

    if same_id:
        score += 10.0
        reasons.insert(0, "identifier_match")
        grade = Grade.PROBABLE if dob == "conflict" else Grade.CERTAIN
        return MatchResult(known.person_ref, grade, score, tuple(reasons))

    family_strong = family in ("exact", "phonetic")
    family_close = family_strong or family == "similar"
    given_ok = given in ("exact", "phonetic", "similar")
    if dob == "exact" and family_close and given_ok:
        grade = Grade.PROBABLE if middle != "conflict" else Grade.POSSIBLE
    elif dob == "exact" and (family_close or given_ok) and (family != "conflict" or given == "exact"):
        grade = Grade.POSSIBLE  # e.g. a changed family name with the same given name and birth date
    elif dob == "exact" and family_close and given == "initial":
        grade = Grade.POSSIBLE
    elif dob in ("partial", "missing") and family_strong and given in ("exact", "phonetic"):
        grade = Grade.POSSIBLE
    else:
        grade = Grade.NONE
    if id_conflict and grade != Grade.NONE:
        reasons.insert(0, "identifier_conflict")
        grade = Grade.POSSIBLE if grade == Grade.PROBABLE else Grade.NONE
    return MatchResult(known.person_ref, grade, score, tuple(reasons))


class _NameSide:
    """The subject's given (or family) names, ready to be compared with a candidate's."""

    def __init__(self, names: Iterable[str]) -> None:
        compacts = [compact(n) for n in names]
        self.compacts = {c for c in compacts if c}
        self.sounds = {soundex(c) for c in self.compacts}
        self.short = any(len(c) <= 1 for c in compacts)  # a missing name or an initial

    def close(self, c: str) -> bool:
        """Whether ``compare_names`` could call compacted name `c` exact, phonetic or similar to one
        of these (it may say so of a name it calls an initial; never the reverse)."""
        if not c or not self.compacts:
            return False
        if c in self.compacts or soundex(c) in self.sounds:
            return True
        return any(fuzz.ratio(c, s, score_cutoff=85) for s in self.compacts)


class Prefilter:
    """Which candidates `grade_pair` could grade above none, told apart cheaply (a million known
    people bring about 40 born on the subject's date, most with nothing else in common).

    By `grade_pair`'s rules, above none needs a shared identifier or, in the pair of names (or
    aliases) it grades, a family name that is close (exact, by sound or similar), a given name
    that is exact, or a close given name with a family name missing or an initial on one side. A
    candidate with none of those in any pair is graded none, so it need not be graded. The check
    may let through a candidate graded none; it never stops one graded above."""

    def __init__(self, subject: PersonRecord) -> None:
        names = _names(subject)
        self.given = _NameSide(g for g, _ in names)
        self.family = _NameSide(f for _, f in names)
        self.pnc = normalise_pnc(subject.pnc_number)
        self.records_id = subject.records_id

    def _names_could_agree(self, given: str, family: str) -> bool:
        f = compact(family)
        if self.family.close(f):
            return True
        g = compact(given)
        if g in self.given.compacts:
            return True
        return (len(f) <= 1 or self.family.short) and self.given.close(g)

    def worth_grading(
        self,
        given_name: str,
        family_name: str,
        aliases: Iterable[str],
        pnc_number: str | None,
        records_id: str | None,
    ) -> bool:
        pnc = normalise_pnc(pnc_number) if self.pnc is not None else None
        if _shares_identifier(self.pnc, self.records_id, pnc, records_id):
            return True
        if self._names_could_agree(given_name, family_name):
            return True
        return any(self._names_could_agree(*_split_alias(alias)) for alias in aliases)


def rank_candidates(subject: PersonRecord, known: Iterable[PersonRecord]) -> list[MatchResult]:
    """Best result per known person, graded above none, best first."""
    return best_per_person(grade_pair(subject, person) for person in known)


def best_per_person(results: Iterable[MatchResult]) -> list[MatchResult]:
    """The best of `results` per person, those graded above none, best first."""
    best: dict[str, MatchResult] = {}
    for r in results:
        if r.grade == Grade.NONE:
            continue
        cur = best.get(r.person_ref)
        if cur is None or (GRADE_ORDER[r.grade], r.score) > (GRADE_ORDER[cur.grade], cur.score):
            best[r.person_ref] = r
    return sorted(best.values(), key=lambda r: (GRADE_ORDER[r.grade], r.score), reverse=True)


def overall_grade(results: Sequence[MatchResult]) -> Grade:
    return results[0].grade if results else Grade.NONE
