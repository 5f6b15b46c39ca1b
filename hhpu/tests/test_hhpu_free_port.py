"""Ports for launched servers come from below the kernel's ephemeral range, where no outgoing
connection can take them between the choice and the server's bind."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from hhpu.distributed import ephemeral_range, free_port

from hhpu import distributed


def test_a_port_is_drawn_below_the_ephemeral_range_and_is_free() -> None:
    for _ in range(20):
        port = free_port((32768, 60999))
        assert 20000 <= port < 32768
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))  # free when handed out


class _Draws:
    """Stands for the module's random generator: hands out the given ports in turn."""

    def __init__(self, *ports: int) -> None:
        self.ports = list(ports)

    def randrange(self, _low: int, _high: int) -> int:
        return self.ports.pop(0)


def test_a_port_taken_by_a_listener_is_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as held:
        taken = free_port()
        held.bind(("127.0.0.1", taken))
        held.listen()
        other = taken + 1 if taken + 1 < 32768 else taken - 1
        monkeypatch.setattr(distributed, "_ports", _Draws(taken, other))
        assert free_port((32768, 60999)) == other


def test_without_room_below_the_range_the_kernel_chooses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(distributed, "_ports", _Draws())  # a draw would fail: none is made
    port = free_port((20500, 60999))
    low, high = ephemeral_range()
    assert low <= port <= high


def test_the_range_is_read_from_the_kernel_or_defaulted(tmp_path: Path) -> None:
    proc = tmp_path / "range"
    proc.write_text("40000\t50000\n")
    assert ephemeral_range(str(proc)) == (40000, 50000)
    assert ephemeral_range(str(tmp_path / "missing")) == (32768, 60999)
    proc.write_text("garbage")
    assert ephemeral_range(str(proc)) == (32768, 60999)
