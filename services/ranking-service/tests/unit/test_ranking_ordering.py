"""The packed-key rank order equals the three-key lexsort of everyone (score desc, secondary desc,
key ascending) on data with many ties, near ties, zero and signed scores, and keys that are or are
not a permutation."""

from __future__ import annotations

import numpy as np
import pytest
from ranking_service.domain.ordering import desc_bits, rank_order


def _lexsort(s: np.ndarray, scored: np.ndarray, secondary: np.ndarray, key: np.ndarray) -> np.ndarray:
    idx = np.flatnonzero(scored)
    return idx[np.lexsort((key[idx], -secondary[idx], -s[idx]))]


def _check(s: np.ndarray, scored: np.ndarray, secondary: np.ndarray, key: np.ndarray) -> np.ndarray:
    got = rank_order(s, scored, secondary, key)
    expected = _lexsort(s, scored, secondary, key)
    assert got.dtype.kind in "iu"
    assert np.array_equal(got, expected)
    return got


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("key_kind", ["permutation", "identity", "duplicates", "sparse"])
def test_many_ties_and_ties_within_ties(seed: int, key_kind: str) -> None:
    rng = _rng(seed)
    n = 30_000
    s = np.round(rng.exponential(5.0, n), 1)  # many tied scores
    secondary = np.round(rng.exponential(5.0, n), 0)  # ties within ties
    key = {
        "permutation": rng.permutation(n),
        "identity": np.arange(n),
        "duplicates": rng.integers(0, n // 10, n),  # equal keys: index order, as lexsort
        "sparse": rng.permutation(n) * 7 + 1_000_000,  # unique but not 0 .. n-1
    }[key_kind]
    scored = rng.random(n) < 0.9
    got = _check(s, scored, secondary, key)
    assert len(got) == scored.sum()
    ties = s[got][1:] == s[got][:-1]
    assert ties.sum() > n // 2  # the data really is mostly ties


def test_near_ties_collide_in_the_leading_bits_and_are_settled_exactly() -> None:
    rng = _rng(7)
    n = 20_000
    base = rng.choice([1.0, 3.5, 1234.5678, 1e-300, 7e10], n)
    ulps = rng.integers(0, 4, n)  # scores a few ulps apart share their leading bits
    s = base.copy()
    for _ in range(3):
        s = np.where(ulps > _, np.nextafter(s, np.inf), s)
    secondary = rng.integers(0, 3, n).astype(np.float64)
    _check(s, np.ones(n, dtype=bool), secondary, rng.permutation(n))


def test_all_tied() -> None:
    n = 5_000
    key = _rng(3).permutation(n)
    got = _check(np.full(n, 2.5), np.ones(n, dtype=bool), np.full(n, 4.0), key)
    assert np.array_equal(key[got], np.sort(key))  # key order only


def test_all_tied_on_score_secondary_decides() -> None:
    rng = _rng(4)
    n = 5_000
    secondary = rng.integers(0, 50, n).astype(np.float64)
    got = _check(np.ones(n), np.ones(n, dtype=bool), secondary, rng.permutation(n))
    assert np.all(np.diff(secondary[got]) <= 0)


def test_none_tied() -> None:
    rng = _rng(5)
    n = 50_000
    s = rng.permutation(n).astype(np.float64) * 0.37 + rng.random(n) * 1e-3
    got = _check(s, np.ones(n, dtype=bool), rng.random(n), rng.permutation(n))
    assert np.all(np.diff(s[got]) < 0)


def test_zero_negative_and_signed_zero_scores() -> None:
    rng = _rng(6)
    n = 10_000
    s = rng.choice([0.0, -0.0, 1.0, -1.0, -2.5, np.inf, -np.inf, 5e-324, -5e-324], n)
    secondary = rng.choice([0.0, -0.0, 2.0, -3.0], n)  # -0.0 and 0.0 tie, as in lexsort
    _check(s, rng.random(n) < 0.8, secondary, rng.permutation(n))
    _check(np.zeros(n), np.ones(n, dtype=bool), np.zeros(n), rng.permutation(n))


def test_integer_secondary_and_small_inputs() -> None:
    rng = _rng(8)
    for n in (0, 1, 2, 3, 17):
        s = rng.integers(0, 3, n).astype(np.float64)
        _check(s, np.ones(n, dtype=bool), rng.integers(0, 3, n), rng.permutation(n))
    empty = np.zeros(4, dtype=bool)
    assert rank_order(np.ones(4), empty, np.ones(4), np.arange(4)).tolist() == []


def test_nan_scores_fall_back_to_the_lexsort() -> None:
    s = np.array([1.0, np.nan, 3.0, 1.0, np.nan])
    key = np.array([4, 3, 2, 1, 0])
    _check(s, np.ones(5, dtype=bool), np.zeros(5), key)
    # a NaN outside the scored people does not matter
    _check(s, np.array([True, False, True, True, False]), np.zeros(5), key)


def test_desc_bits_order_is_the_descending_float_order() -> None:
    x = np.array([np.inf, 3.0, 1.0, 5e-324, 0.0, -0.0, -5e-324, -1.0, -np.inf])  # descending
    u = desc_bits(x)
    assert np.all(u[1:] >= u[:-1])
    assert (u[1:] == u[:-1]).tolist() == [False] * 4 + [True] + [False] * 3  # only 0.0 and -0.0
