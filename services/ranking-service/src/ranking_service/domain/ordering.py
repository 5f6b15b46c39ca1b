"""Rank order of the scored people: score desc, then secondary desc, then key ascending.

The order is exactly ``idx[np.lexsort((key_rank[idx], -secondary[idx], -score[idx]))]`` with
``idx = np.flatnonzero(scored)`` (-0.0 and 0.0 equal, as in that comparison), computed without an
argsort of floats: numpy sorts plain uint64 values several times faster than it argsorts floats, so
the position of each person is packed into the low bits of its key and one value sort gives the
permutation. The key's high bits are the leading bits of the score (order-preserving unsigned bits,
descending); only the people whose leading bits collide (tied or nearly tied scores) are looked at
again, and of those only the groups that are not fully tied on score and secondary are sorted by
the three keys."""

from __future__ import annotations

import math

import numpy as np

_TOP = np.uint64(1 << 63)
_LOW63 = np.uint64((1 << 63) - 1)


def desc_bits(x: np.ndarray) -> np.ndarray:
    """uint64 per value whose ascending order is the descending order of the float values `x`
    (-0.0 and 0.0 map to the same bits; NaN-free input)."""
    v = np.negative(x, dtype=np.float64)
    v += 0.0  # -0.0 -> +0.0
    u = v.view(np.uint64)
    # negative: flip every bit; positive: set the sign bit
    u ^= ((u >> np.uint64(63)) * _LOW63) | _TOP
    return np.asarray(u)


def _by_key(scored: np.ndarray, key_rank: np.ndarray) -> np.ndarray:
    """Scored people by key ascending (people with equal keys by index): a scatter when the keys
    are a permutation of 0 .. n-1 (as `prepare` makes them), otherwise a stable sort."""
    n = len(scored)
    if len(key_rank) == n and n and key_rank.min() >= 0 and key_rank.max() < n:
        inv = np.full(n, -1, dtype=np.intp)
        inv[key_rank] = np.arange(n, dtype=np.intp)
        if inv.min() >= 0:  # n keys in [0, n) and every slot filled: a permutation
            return np.asarray(inv[scored[inv]])
    idx = np.flatnonzero(scored)
    return idx[np.argsort(key_rank[idx], kind="stable")]


def _any_nan(x: np.ndarray, scored: np.ndarray) -> bool:
    if x.dtype.kind != "f" or not np.isnan(x).any():  # no NaN at all: no gather needed
        return False
    return bool(np.isnan(x[scored]).any())


def reference_order(
    score: np.ndarray, scored: np.ndarray, secondary: np.ndarray, key_rank: np.ndarray
) -> np.ndarray:
    """The definition: a three-key lexsort of every scored person."""
    idx = np.flatnonzero(scored)
    return np.asarray(idx[np.lexsort((key_rank[idx], -secondary[idx], -score[idx]))])


def rank_order(
    score: np.ndarray, scored: np.ndarray, secondary: np.ndarray, key_rank: np.ndarray
) -> np.ndarray:
    """Scored people in rank order: score desc, then secondary desc, then key ascending."""
    if _any_nan(score, scored) or _any_nan(secondary, scored):
        return reference_order(score, scored, secondary, key_rank)
    base = _by_key(scored, key_rank)  # position in `base` = tie-break by key
    m = len(base)
    if m < 2:
        return base
    pb = np.uint64((m - 1).bit_length())
    packed = desc_bits(score[base])  # in place from here on: few large temporaries
    packed >>= pb
    packed <<= pb
    packed |= np.arange(m, dtype=np.uint64)
    packed.sort()
    o = (packed & ((np.uint64(1) << pb) - np.uint64(1))).view(np.intp)  # positions < 2**63
    packed >>= pb  # the leading bits of the score, ascending
    same = packed[1:] == packed[:-1]
    del packed
    if same.any():
        _settle_collisions(o, same, score, secondary, base)
    return np.asarray(base[o])


def _settle_collisions(
    o: np.ndarray, same: np.ndarray, score: np.ndarray, secondary: np.ndarray, base: np.ndarray
) -> None:
    """Reorder in place the groups of `o` whose leading score bits collide (`same[i]`: element i+1
    is in the group of element i) by full score, then secondary, then position; groups fully tied
    on both are already in position order and stay as they are."""
    first = np.ones(len(o), dtype=bool)
    first[1:] = ~same
    member = np.zeros(len(o), dtype=bool)
    member[1:] = same
    member[:-1] |= same
    pos = np.flatnonzero(member)
    op = o[pos]
    who = base[op]
    tp = desc_bits(score[who])
    hp = desc_bits(secondary[who])
    start = first[pos]
    differs = np.zeros(len(pos), dtype=bool)
    differs[1:] = (tp[1:] != tp[:-1]) | (hp[1:] != hp[:-1])
    differs &= ~start
    if not differs.any():
        return
    gid = np.cumsum(start) - 1
    unsettled = np.zeros(int(gid[-1]) + 1, dtype=bool)
    unsettled[gid[differs]] = True
    sel = unsettled[gid]
    # groups are contiguous, in ascending order of leading bits (which the full bits refine) and
    # each in position order, which the stable lexsort keeps among equal (score, secondary)
    o[pos[sel]] = op[sel][np.lexsort((hp[sel], tp[sel]))]


def top_bracket_size(n_scored: int, top_n: int | None, top_share: float | None) -> int:
    if top_share is not None:
        return min(n_scored, int(math.ceil(top_share * n_scored)))
    if top_n is not None:
        return min(n_scored, top_n)
    return 0


def top_contributions(person: np.ndarray, contribution: np.ndarray, window: np.ndarray, k: int) -> np.ndarray:
    """Row indices of each person's k largest contributions (ties: earlier row first)."""
    rows = np.flatnonzero(window & (contribution > 0))
    if len(rows) == 0 or k <= 0:
        return rows[:0]
    order = np.lexsort((rows, -contribution[rows], person[rows]))
    rows = rows[order]
    p = person[rows]
    start = np.r_[True, p[1:] != p[:-1]]
    group_start = np.maximum.accumulate(np.where(start, np.arange(len(p)), 0))
    pos = np.arange(len(p)) - group_start
    return rows[pos < k]
