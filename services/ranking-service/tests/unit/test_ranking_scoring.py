"""Each scoring model against hand-computed examples."""

from __future__ import annotations

import math

import numpy as np
import pytest
from ranking_service.domain.catalog import ModelParams, resolve
from ranking_service.domain.scoring import (
    OffenceArrays,
    band_at_least,
    band_at_most,
    rank_order,
    score,
    top_bracket_size,
    top_contributions,
)
from ranking_service.domain.weights import DOMAIN_BITS

AS_OF = 1000
DA = DOMAIN_BITS["domestic_abuse"]


def example() -> OffenceArrays:
    # person 0: 10 days (DA, 10 days ago), 80 days (200 days ago), murder 900 days ago (outside 730)
    # person 1: 1 day recorded tomorrow (unknown at as-of), 19 days 500 days ago
    # person 2: 365 days 800 days ago (outside the window)
    return OffenceArrays(
        person=np.array([0, 0, 0, 1, 1, 2], dtype=np.int32),
        n_people=3,
        day=np.array([990, 800, 100, 1000, 500, 200], dtype=np.int32),
        recorded=np.array([990, 800, 100, 1001, 500, 200], dtype=np.int32),
        harm=np.array([10.0, 80.0, 5475.0, 1.0, 19.0, 365.0]),
        domains=np.array([DA, 0, 0, 0, 0, 0], dtype=np.uint8),
        victim=np.array([1, 2, 3, 1, 1, -1], dtype=np.int64),
    )


def test_total_harm_sums_the_lookback_window_of_known_records() -> None:
    r = score(example(), AS_OF, ModelParams(algorithm="total_harm", lookback_days=730))
    assert r.score.tolist() == [90.0, 19.0, 0.0]
    assert r.scored.tolist() == [True, True, False]
    assert r.window.tolist() == [True, True, False, False, True, False]


def test_recency_weighted_harm_halves_every_half_life() -> None:
    p = ModelParams(algorithm="recency_harm", lookback_days=730, half_life_days=100)
    r = score(example(), AS_OF, p)
    assert r.score[0] == pytest.approx(10 * 2 ** (-0.1) + 80 * 0.25, rel=1e-12)
    assert r.score[0] == pytest.approx(29.330329915368, rel=1e-12)
    assert r.score[1] == pytest.approx(19 / 32, rel=1e-12)
    assert r.contribution[1] == pytest.approx(20.0)


def test_rfg_points_from_bands() -> None:
    p = ModelParams(algorithm="rfg", lookback_days=730)
    r = score(example(), AS_OF, p)
    # p0: last offence 10 days ago -> 30; 2 offences -> 10; harm 90 -> 20
    # p1: last 500 days ago -> 5; 1 offence -> 5; harm 19 -> 10
    assert r.score.tolist() == [60.0, 20.0, 0.0]
    assert r.components["recency_points"][:2].tolist() == [30.0, 5.0]
    assert r.components["frequency_points"][:2].tolist() == [10.0, 5.0]
    assert r.components["gravity_points"][:2].tolist() == [20.0, 10.0]


def test_rfg_with_max_gravity_and_distinct_victims() -> None:
    p = ModelParams(algorithm="rfg", lookback_days=730, gravity_basis="max", use_victims=True)
    r = score(example(), AS_OF, p)
    # p0: max harm 80 -> 10; victims {1, 2} -> 2 -> 10; p1: one victim -> 0
    assert r.score.tolist() == [30 + 10 + 10 + 10, 5 + 5 + 10 + 0, 0.0]
    assert r.components["distinct_victims"].tolist() == [2, 1, 0]


def test_high_harm_filter_on_offences_or_people() -> None:
    base = {"algorithm": "total_harm", "lookback_days": 730, "domains": ("domestic_abuse",)}
    r = score(example(), AS_OF, ModelParams(**base, high_harm_filter="offences"))
    assert r.score.tolist() == [10.0, 0.0, 0.0]
    r = score(example(), AS_OF, ModelParams(**base, high_harm_filter="people"))
    assert r.score.tolist() == [90.0, 0.0, 0.0]
    assert r.scored.tolist() == [True, False, False]


def test_excluded_codes_do_not_count() -> None:
    off = example()
    elig = np.array([True, False, True, True, True, True])
    off = OffenceArrays(**{**off.__dict__, "eligible": elig})
    r = score(off, AS_OF, ModelParams(algorithm="rfg", lookback_days=730))
    assert r.components["count"][0] == 1


def test_bands() -> None:
    bands = ((1, 5), (2, 10), (5, 20))
    assert band_at_least(np.array([0, 1, 4, 5, 99.0]), bands).tolist() == [0, 5, 10, 20, 20]
    rec = ((90, 30), (180, 20))
    assert band_at_most(np.array([0, 90, 91, 180, 181.0]), rec).tolist() == [30, 30, 20, 20, 0]


def test_rank_order_ties_broken_by_secondary_then_key() -> None:
    s = np.array([5.0, 5.0, 7.0, 1.0, 5.0])
    scored = np.array([True, True, True, False, True])
    secondary = np.array([1.0, 2.0, 0.0, 9.0, 1.0])
    key = np.array([3, 0, 2, 1, 1])
    assert rank_order(s, scored, secondary, key).tolist() == [2, 1, 4, 0]


def test_top_bracket_size() -> None:
    assert top_bracket_size(10, 3, None) == 3
    assert top_bracket_size(10, None, 0.25) == 3
    assert top_bracket_size(2, 5, None) == 2


def test_top_contributions_per_person() -> None:
    person = np.array([0, 0, 0, 1])
    rows = top_contributions(person, np.array([1.0, 3.0, 2.0, 5.0]), np.ones(4, bool), 2)
    assert sorted(rows.tolist()) == [1, 2, 3]


def test_catalogue_models_are_versioned_and_validated() -> None:
    assert resolve("hh_recency_harm@1").high_harm_filter == "offences"
    assert resolve("rfgv").use_victims is True
    with pytest.raises(KeyError):
        resolve("rfg@9")
    with pytest.raises(ValueError, match="bands_not_ascending"):
        ModelParams(recency_bands=((180, 20), (90, 30)))
    assert math.isclose(resolve("recency_harm@1", {"half_life_days": 30}).half_life_days, 30)
