"""Rows in any order score and rank as the person-grouped rows: the grouping is a stable partition by
person, the engine then stays on its bincount path, and the service's load groups what it scores."""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pytest
from ranking_service.domain.catalog import resolve
from ranking_service.domain.grouping import group_by_person, group_rows, needs_grouping
from ranking_service.domain.inputs import fingerprint, prepare
from ranking_service.domain.scoring import OffenceArrays, rank_order, score
from ranking_service.domain.weights import DOMAIN_BITS, load_edition
from ranking_service.synthetic import CODES, generate, generate_arrays, to_day

AS_OF = to_day(date(2025, 6, 30))
CHUNK = 2_048


def _grouped() -> OffenceArrays:
    a = generate_arrays(20_000, 60_000, seed=7)
    days, masks, _ = load_edition("cchi-2020").lookup(list(CODES))
    flags = np.where(a.domestic, DOMAIN_BITS["domestic_abuse"], 0).astype(np.uint16)
    return OffenceArrays(
        person=a.person, n_people=a.n_people, day=a.day, recorded=a.recorded, victim=a.victim,
        code=a.code, code_harm=days, code_domains=masks, row_flags=flags,
    )  # fmt: skip


def _take(off: OffenceArrays, rows: np.ndarray) -> OffenceArrays:
    cols = ("person", "day", "recorded", "victim", "code", "row_flags")
    return OffenceArrays(
        n_people=off.n_people, code_harm=off.code_harm, code_domains=off.code_domains,
        **{c: getattr(off, c)[rows] for c in cols},
    )  # fmt: skip


def _shuffle_keeping_each_persons_order(person: np.ndarray, seed: int) -> np.ndarray:
    """Rows of a random order in which each person's rows keep their relative order."""
    labels = person[np.random.default_rng(seed).permutation(len(person))]  # who sits where
    rows = np.empty(len(person), dtype=np.intp)
    # the k-th place (in order) of a person receives that person's k-th row
    rows[np.argsort(labels, kind="stable")] = np.argsort(person, kind="stable")
    return rows


def test_grouping_is_a_stable_partition_by_person_with_the_original_rows() -> None:
    rng = np.random.default_rng(1)
    person = rng.integers(0, 50_000, 200_000).astype(np.int32)
    day = rng.integers(0, 1000, len(person)).astype(np.int32)
    flag = rng.random(len(person)) < 0.3
    g = group_rows(person, 50_000, {"day": day, "flag": flag}, bucket_people=1024)
    order = g.order
    assert order is not None and sorted(order.tolist()) == list(range(len(person)))
    for name, col in (("person", person), ("day", day), ("flag", flag)):
        assert np.array_equal(g.columns[name], col[order])
    p = g.columns["person"]
    assert np.all(np.diff(p >> 10) >= 0)  # buckets of 1,024 people in order
    by_person = np.argsort(p, kind="stable")
    same = np.diff(p[by_person]) == 0
    assert np.all(np.diff(order[by_person])[same] > 0)  # each person's rows in their original order
    assert needs_grouping(person, CHUNK) and not needs_grouping(p, CHUNK)
    cols = {"day": day, "flag": flag}
    two = group_rows(person, 50_000, cols, threads=2, buffer=g.records, bucket_people=1024)
    assert two.records is g.records and np.array_equal(two.order, order)  # buffer reused, same result
    empty = group_rows(np.zeros(0, np.int32), 0, {"day": np.zeros(0, np.int32)})
    assert len(empty.columns["day"]) == 0


@pytest.mark.parametrize("model", ["total_harm@1", "recency_harm@1", "hh_recency_harm@1", "rfgv@1"])
def test_a_shuffled_input_scores_and_ranks_as_the_grouped_one(model: str) -> None:
    p = resolve(model)
    grouped = _grouped()
    key = np.arange(grouped.n_people)
    want = score(grouped, AS_OF, p, chunk_rows=CHUNK)
    want_order = rank_order(want.score, want.scored, want.components["harm"], key)
    assert want.scored.sum() > 5_000
    # each person's rows in their order, the people interleaved: exactly the grouped scores
    kept = _take(grouped, _shuffle_keeping_each_persons_order(grouped.person, 3))
    assert needs_grouping(kept.person, CHUNK)
    regrouped, g = group_by_person(kept, chunk_rows=CHUNK)
    assert not needs_grouping(regrouped.person, CHUNK)
    single = score(regrouped, AS_OF, p, chunk_rows=len(kept.person))
    whole = score(grouped, AS_OF, p, chunk_rows=len(grouped.person))
    assert np.array_equal(single.score, whole.score) and np.array_equal(single.scored, whole.scored)
    # fully shuffled: the same scores to 1e-12 (exactly for whole-day harms) and the same rank order
    perm = np.random.default_rng(4).permutation(len(grouped.person))
    shuffled = _take(grouped, perm)
    regrouped, g = group_by_person(shuffled, chunk_rows=CHUNK)
    got = score(regrouped, AS_OF, p, chunk_rows=CHUNK)
    got_order = rank_order(got.score, got.scored, got.components["harm"], key)
    assert np.array_equal(got.scored, want.scored)
    assert np.array_equal(got.components["count"], want.components["count"])
    np.testing.assert_allclose(got.score, want.score, rtol=1e-12, atol=0)
    if model == "total_harm@1":
        assert np.array_equal(got.score, want.score)
    assert np.array_equal(got_order, want_order)
    assert g.order is not None
    assert np.array_equal(got.window, want.window[perm[g.order]])  # each row's window, as grouped


def test_the_service_load_scores_grouped_rows_and_fingerprints_the_stored_ones() -> None:
    table = generate(10_000, 20_000, seed=9).offences
    shuffled = table.take(pa.array(np.random.default_rng(2).permutation(table.num_rows)))
    ed, p = load_edition("cchi-2020"), resolve("recency_harm@1")
    as_of = to_day(date(2025, 12, 31))
    plain = prepare(shuffled, ed, p)  # 10,000 people: every chunk's sums are cheap as they come
    assert plain.order is None
    prep = prepare(shuffled, ed, p, chunk_rows=256)
    assert prep.order is not None and not needs_grouping(prep.arrays.person, 256)
    assert np.array_equal(prep.arrays.person, plain.arrays.person[prep.order])
    assert np.array_equal(prep.code, plain.code[prep.order]) and prep.people == plain.people
    assert np.array_equal(prep.fallback, plain.fallback[prep.order])
    a, b = score(plain.arrays, as_of, p), score(prep.arrays, as_of, p, chunk_rows=256)
    np.testing.assert_allclose(b.score, a.score, rtol=1e-12, atol=0)
    assert np.array_equal(
        rank_order(a.score, a.scored, a.components["harm"], plain.key_rank),
        rank_order(b.score, b.scored, b.components["harm"], prep.key_rank),
    )
    stored = prep.stored_rows(b.window)
    assert np.array_equal(stored, plain.stored_rows(a.window))  # the window's stored rows, in order
    assert fingerprint(shuffled, stored) == fingerprint(shuffled, np.flatnonzero(a.window))
