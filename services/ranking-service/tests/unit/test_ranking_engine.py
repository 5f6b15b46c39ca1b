"""The chunked (optionally threaded) aggregation scores exactly as one whole-array pass, and the
breakdown of the people shown equals the per-row contributions."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from ranking_service.domain.catalog import resolve
from ranking_service.domain.scoring import OffenceArrays, score, top_contributions
from ranking_service.domain.weights import DOMAIN_BITS, load_edition
from ranking_service.synthetic import CODES, generate_arrays, to_day

AS_OF = to_day(date(2025, 6, 30))
MODELS = ("recency_harm@1", "total_harm@1", "hh_recency_harm@1", "rfgv@1", "rfgv@2")


def _arrays(per_code: bool) -> OffenceArrays:
    a = generate_arrays(3_000, 40_000, seed=5)
    days, masks, _ = load_edition("cchi-2020").lookup(list(CODES))
    flags = np.where(a.domestic, DOMAIN_BITS["domestic_abuse"], 0).astype(np.uint16)
    if per_code:
        return OffenceArrays(
            person=a.person, n_people=a.n_people, day=a.day, recorded=a.recorded, victim=a.victim,
            code=a.code, code_harm=days, code_domains=masks, row_flags=flags,
        )  # fmt: skip
    return OffenceArrays(
        person=a.person, n_people=a.n_people, day=a.day, recorded=a.recorded, victim=a.victim,
        harm=days[a.code], domains=masks[a.code] | flags,
    )  # fmt: skip


@pytest.mark.parametrize("model", MODELS)
def test_chunks_threads_and_code_tables_give_the_same_scores(model: str) -> None:
    p = resolve(model)
    whole = score(_arrays(False), AS_OF, p)
    assert whole.scored.sum() > 1000
    for chunk, threads in ((7_001, 1), (5_000, 2)):
        part = score(_arrays(True), AS_OF, p, threads=threads, chunk_rows=chunk)
        assert np.array_equal(part.scored, whole.scored)
        assert np.array_equal(part.components["count"], whole.components["count"])
        np.testing.assert_allclose(part.score, whole.score, rtol=1e-12, atol=0)
        assert np.array_equal(part.window, whole.window)


def test_rows_of_the_people_shown_carry_their_contributions() -> None:
    p = resolve("hh_recency_harm@1")
    res = score(_arrays(True), AS_OF, p, chunk_rows=4_096)
    shown = np.zeros(len(res.score), dtype=bool)
    shown[np.argsort(-res.score)[:50]] = True
    off = res.off
    assert off is not None
    rows, contrib = res.rows_of(shown)
    assert rows.tolist() == np.flatnonzero(res.window & shown[off.person]).tolist()
    assert np.array_equal(contrib, res.contribution[rows])
    per_person = np.bincount(off.person[rows], weights=contrib, minlength=len(shown))
    np.testing.assert_allclose(per_person[shown], res.score[shown], rtol=1e-12)
    # the breakdown from the shown rows alone is the all-rows breakdown of the people shown
    every = top_contributions(off.person, res.contribution, res.window, 3)
    mine = rows[top_contributions(off.person[rows], contrib, np.ones(len(rows), dtype=bool), 3)]
    assert len(mine) > 50 and mine.tolist() == every[shown[off.person[every]]].tolist()


def test_rank_order_equals_a_three_key_sort_of_everyone() -> None:
    from ranking_service.domain.scoring import rank_order

    rng = np.random.default_rng(3)
    n = 20_000
    s = np.round(rng.exponential(5.0, n), 1)  # many tied scores
    secondary = np.round(rng.exponential(5.0, n), 0)  # ties within ties too
    key = rng.permutation(n)
    scored = rng.random(n) < 0.9
    idx = np.flatnonzero(scored)
    expected = idx[np.lexsort((key[idx], -secondary[idx], -s[idx]))]
    assert np.array_equal(rank_order(s, scored, secondary, key), expected)
