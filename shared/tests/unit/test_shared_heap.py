"""hhpu_shared.heap.settle: what is alive when a process has started is frozen out of the cycle
collector's walks; HHPU_GC_FREEZE=0 (the test plugin's default) turns it off. The service skeleton
and the gateway calling it are tested in tests/skeleton/test_skeleton_heap.py and the gateway's tests."""

from __future__ import annotations

import gc

import pytest
from hhpu_shared import heap


def test_settle_freezes_what_is_alive_and_the_collector_then_skips_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HHPU_GC_FREEZE", "1")
    kept = [{"n": i} for i in range(50_000)]
    for d in kept:
        d["self"] = d  # a cycle each, as an app's objects have
    try:
        tracked = len(gc.get_objects())
        frozen = heap.settle()
        assert frozen == gc.get_freeze_count() >= 50_000
        assert len(gc.get_objects()) <= tracked - 50_000  # no generation holds them now
    finally:
        gc.unfreeze()  # this test process goes on making and dropping apps
    assert gc.get_freeze_count() == 0 and len(gc.get_objects()) >= 50_000
    del kept


def test_turned_off_it_freezes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    for off in ("0", "false", "Off"):
        monkeypatch.setenv("HHPU_GC_FREEZE", off)
        assert heap.settle() == 0
        assert gc.get_freeze_count() == 0
