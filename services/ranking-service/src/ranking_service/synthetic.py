"""Synthetic police force: people and offence records, seeded and deterministic, vectorised.

Reusable by the demo, the benchmarks and the end-to-end tests:

    force = generate(n_people=5_000, n_offences=40_000, seed=7, include_scenario_people=True)
    force.people, force.offences          # pyarrow tables in the import formats
    write_force(force, "/tmp/force")      # people.parquet + offences.parquet

Properties: activity per person is log-normal and severity propensity varies, so harm concentrates
in a small share of offenders (the "power few"); the later period (after `split`) is driven by
propensities only weakly correlated with the earlier ones, so the past predicts it only weakly.
Scales to 1M people / 10M offences (numpy + pyarrow compute, no per-row Python).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ranking_service.domain.validation import OUTCOMES

EPOCH = date(1970, 1, 1)
OUTCOME_P = (0.22, 0.2, 0.1, 0.33, 0.15)
LOW = {
    "046/00": 0.19, "149/00": 0.12, "105/01": 0.15, "008/06": 0.1, "195/94": 0.06, "125/12": 0.05,
    "125/09": 0.03, "092/61": 0.05, "039/00": 0.03, "048/01": 0.03, "028/03": 0.05, "030/02": 0.03,
    "008/31": 0.03, "066/39": 0.02, "008/30": 0.02, "008/26": 0.02, "092/50": 0.01, "149/99": 0.001,
}  # fmt: skip
HIGH = {
    "008/67": 0.2, "008/66": 0.08, "008/65": 0.08, "008/01": 0.12, "008/01#serious": 0.05, "005/01": 0.05,
    "020/05": 0.1, "019/08": 0.04, "020/03": 0.02, "020/06": 0.02, "086/10": 0.06, "086/02": 0.02,
    "003/01": 0.06, "034/01": 0.05, "008/64": 0.03, "036/03": 0.01, "002/00": 0.005, "001/01": 0.002,
    "019/16": 0.003, "056/01": 0.01,
}  # fmt: skip
DA_CODES = {
    "008/67": 1.0, "066/39": 1.0, "008/66": 0.6, "008/65": 0.6, "008/31": 0.7, "105/01": 0.35,
    "008/06": 0.35, "008/01": 0.3, "008/01#serious": 0.3, "003/01": 0.4, "195/94": 0.4, "008/30": 0.4,
}  # fmt: skip
HATE_CODES = ("105/01", "008/06", "125/09", "125/12", "195/94", "008/30", "149/00")
CODES = tuple(LOW) + tuple(HIGH)
MALE = ("James", "John", "Daniel", "Ryan", "Liam", "Connor", "Jack", "Thomas", "Lee", "Mark", "Paul",
        "Craig", "Jamie", "Kyle", "Aaron", "Adam", "Callum", "Dean", "Gary", "Mohammed", "Ali", "Kwame",
        "Tomasz", "Jordan", "Nathan")  # fmt: skip
FEMALE = ("Sarah", "Emma", "Laura", "Amy", "Chloe", "Jade", "Hannah", "Gemma", "Kelly", "Zoe", "Aisha",
          "Amara", "Natalia", "Leanne", "Stacey")  # fmt: skip
FAMILY = ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson",
          "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson",
          "Clarke", "Patel", "Khan", "Lewis", "Hughes", "Marsh", "Okafor", "Nowak", "Begum", "Hussain",
          "Price")  # fmt: skip
ETHNICITY = ("White", "Asian", "Black", "Mixed", "Other", "Not stated")
ETHNICITY_P = (0.79, 0.08, 0.05, 0.03, 0.02, 0.03)
# Dean Marsh (journey 1): his history puts him in the top bracket of the demo force (8), since the
# ranking must already have named him when his referral arrives.
SCENARIO_PEOPLE = [
    {
        "records_id": "P-DEAN-MARSH", "given_name": "Dean", "middle_names": "John", "family_name": "Marsh",
        "date_of_birth": date(1991, 3, 14), "sex": "M", "ethnicity": "White",
        "offences": [("008/67", -40, True, "V-DM-1"), ("008/66", -25, True, "V-DM-1"),
                     ("005/01", -15, True, "V-DM-1"), ("008/65", -300, True, "V-DM-2"),
                     ("105/01", -200, True, "V-DM-2"), ("005/01", -120, True, "V-DM-2")],
    },
]  # fmt: skip


def to_day(d: date) -> int:
    return (d - EPOCH).days


@dataclass
class ForceArrays:
    """Integer-coded offences (for benchmarks and fast paths) plus per-person attributes."""

    person: np.ndarray  # int32
    code: np.ndarray  # int16 index into CODES
    day: np.ndarray  # int32
    recorded: np.ndarray  # int32
    outcome: np.ndarray  # int8 index into OUTCOMES
    domestic: np.ndarray  # bool
    hate: np.ndarray  # bool
    victim: np.ndarray  # int64, -1 unknown
    n_people: int
    sex_male: np.ndarray  # bool per person
    birth_day: np.ndarray  # int32 per person
    ethnicity: np.ndarray  # int8 per person
    given: np.ndarray  # int16 per person
    family: np.ndarray  # int16 per person


def _period(
    rng: np.random.Generator, n: int, rate: np.ndarray, sev: np.ndarray, lo: int, hi: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Offences of one period: who (by activity), what (by severity), when."""
    counts = rng.multinomial(n, rate / rate.sum()) if n else np.zeros(len(rate), dtype=np.int64)
    person = np.repeat(np.arange(len(rate), dtype=np.int32), counts)
    p_high = 1.0 / (1.0 + np.exp(-(sev[person] - 3.0)))
    high = rng.random(len(person)) < p_high
    lp = np.array(list(LOW.values()))
    hp = np.array(list(HIGH.values()))
    low_code = rng.choice(len(LOW), size=len(person), p=lp / lp.sum())
    high_code = len(LOW) + rng.choice(len(HIGH), size=len(person), p=hp / hp.sum())
    code = np.where(high, high_code, low_code).astype(np.int16)
    day = rng.integers(lo, hi, size=len(person), dtype=np.int32)
    return person, code, day


def generate_arrays(
    n_people: int,
    n_offences: int,
    *,
    seed: int = 0,
    start: date = date(2022, 1, 1),
    split: date = date(2025, 1, 1),
    end: date = date(2026, 1, 1),
    later_fraction: float = 0.25,
    predictiveness: float = 0.35,
) -> ForceArrays:
    rng = np.random.default_rng(seed)
    activity = rng.lognormal(0.0, 1.4, n_people)
    severity = rng.normal(0.0, 1.3, n_people)
    n_later = int(round(n_offences * later_fraction))
    p1 = _period(rng, n_offences - n_later, activity, severity, to_day(start), to_day(split))
    # later propensities: correlated with the earlier ones only by `predictiveness`
    r = predictiveness
    later_act = np.exp(r * np.log(activity) + np.sqrt(1 - r * r) * rng.normal(0.0, 1.1, n_people))
    later_sev = r * severity + np.sqrt(1 - r * r) * rng.normal(0.0, 1.0, n_people)
    p2 = _period(rng, n_later, later_act, later_sev, to_day(split), to_day(end))
    person = np.concatenate([p1[0], p2[0]])
    code = np.concatenate([p1[1], p2[1]])
    day = np.concatenate([p1[2], p2[2]])
    n = len(person)
    lag = np.minimum(rng.geometric(0.08, n) - 1, 180).astype(np.int32)
    recorded = np.minimum(day + lag, to_day(end)).astype(np.int32)
    outcome = rng.choice(len(OUTCOMES), size=n, p=np.array(OUTCOME_P)).astype(np.int8)
    da_p = np.array([DA_CODES.get(c, 0.0) for c in CODES])
    domestic = rng.random(n) < da_p[code]
    hate_p = np.array([0.06 if c in HATE_CODES else 0.0 for c in CODES])
    hate = (rng.random(n) < hate_p[code]) & ~domestic
    pool = 1 + rng.poisson(1.0, n_people)
    victim = person.astype(np.int64) * 8 + np.floor(rng.random(n) * pool[person]).astype(np.int64)
    victim[rng.random(n) < 0.1] = -1
    male = rng.random(n_people) < 0.82
    age_at_split = 16 + rng.gamma(2.0, 8.0, n_people)
    birth = (to_day(split) - age_at_split * 365.25).astype(np.int32)
    return ForceArrays(
        person=person,
        code=code,
        day=day,
        recorded=recorded,
        outcome=outcome,
        domestic=domestic,
        hate=hate,
        victim=victim,
        n_people=n_people,
        sex_male=male,
        birth_day=birth,
        ethnicity=rng.choice(len(ETHNICITY), size=n_people, p=np.array(ETHNICITY_P)).astype(np.int8),
        given=np.where(male, rng.integers(0, len(MALE), n_people), rng.integers(0, len(FEMALE), n_people)),
        family=rng.integers(0, len(FAMILY), n_people).astype(np.int16),
    )


def _ids(prefix: str, idx: np.ndarray, width: int) -> pa.Array:
    s = pc.utf8_lpad(pc.cast(pa.array(idx), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, s, "")


def _dates(days: np.ndarray) -> pa.Array:
    return pa.array(days.astype(np.int32), type=pa.int32()).cast(pa.date32())


@dataclass
class SyntheticForce:
    people: pa.Table
    offences: pa.Table
    split: date
    end: date


def tables(a: ForceArrays, id_prefix: str = "P-") -> tuple[pa.Table, pa.Table]:
    """The import formats: people and offences as pyarrow tables (records ids `id_prefix` + number)."""
    width = max(7, len(str(a.n_people)))
    given = np.where(a.sex_male, np.array(MALE)[a.given % len(MALE)], np.array(FEMALE)[a.given % len(FEMALE)])
    people = pa.table(
        {
            "records_id": _ids(id_prefix, np.arange(a.n_people), width),
            "given_name": pa.array(given),
            "middle_names": pa.nulls(a.n_people, pa.string()),
            "family_name": pa.array(np.array(FAMILY)[a.family]),
            "date_of_birth": _dates(a.birth_day),
            "sex": pa.array(np.where(a.sex_male, "M", "F")),
            "ethnicity": pa.array(np.array(ETHNICITY)[a.ethnicity]),
        }
    )
    victim = _ids("V-", np.maximum(a.victim, 0), 8)
    victim = pc.if_else(pa.array(a.victim < 0), pa.scalar(None, pa.string()), victim)
    offences = pa.table(
        {
            "person_id": pc.take(people["records_id"], pa.array(a.person)),
            "offence_code": pc.take(pa.array(CODES), pa.array(a.code)),
            "offence_date": _dates(a.day),
            "recorded_date": _dates(a.recorded),
            "outcome": pc.take(pa.array(OUTCOMES), pa.array(a.outcome)),
            "domestic_abuse": pa.array(a.domestic),
            "hate_crime": pa.array(a.hate),
            "victim_ref": victim,
        }
    )
    return people, offences


def _scenario(anchor: date) -> tuple[pa.Table, pa.Table]:
    people, offences = [], []
    for p in SCENARIO_PEOPLE:
        people.append({k: v for k, v in p.items() if k != "offences"})
        for code, rel, da, victim in p["offences"]:  # type: ignore[attr-defined]
            day = date.fromordinal(anchor.toordinal() + rel)
            offences.append(
                {
                    "person_id": p["records_id"],
                    "offence_code": code,
                    "offence_date": day,
                    "recorded_date": day,
                    "outcome": "under_investigation",
                    "domestic_abuse": da,
                    "hate_crime": False,
                    "victim_ref": victim,
                }  # fmt: skip
            )
    return pa.Table.from_pylist(people), pa.Table.from_pylist(offences)


def generate(
    n_people: int = 5_000,
    n_offences: int = 40_000,
    *,
    seed: int = 0,
    start: date = date(2022, 1, 1),
    split: date = date(2025, 1, 1),
    end: date = date(2026, 1, 1),
    include_scenario_people: bool = False,
    predictiveness: float = 0.35,
    id_prefix: str = "P-",
) -> SyntheticForce:
    """A synthetic force; `id_prefix` keeps two forces' records ids apart (tests sharing a system)."""
    arrays = generate_arrays(
        n_people, n_offences, seed=seed, start=start, split=split, end=end, predictiveness=predictiveness
    )
    people, offences = tables(arrays, id_prefix)
    if include_scenario_people:
        sp, so = _scenario(end)
        people = pa.concat_tables([people, sp.cast(people.schema)])
        offences = pa.concat_tables([offences, so.cast(offences.schema)])
    return SyntheticForce(people=people, offences=offences, split=split, end=end)


def write_force(
    force: SyntheticForce, directory: str | Path, row_group_size: int = 1_000_000
) -> tuple[Path, Path]:
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    pq.write_table(force.people, d / "people.parquet", row_group_size=row_group_size)
    pq.write_table(force.offences, d / "offences.parquet", row_group_size=row_group_size)
    return d / "people.parquet", d / "offences.parquet"
