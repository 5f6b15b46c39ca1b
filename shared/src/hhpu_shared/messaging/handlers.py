"""Event handlers of one service, by event class and version (``HandlerRegistry``)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlmodel import Session

from hhpu_shared.events.envelope import Envelope
from hhpu_shared.events.registry import EventData, event_spec, spec_for
from hhpu_shared.uow import UnitOfWork

Handler = Callable[[UnitOfWork, Any, Envelope], None]
# Of a poll batch's events (envelope, checked data), the ids worth running a handler for, in one read.
Prefilter = Callable[[Session, Sequence[tuple[Envelope, Any]]], Collection[str]]
Ev = TypeVar("Ev", bound=EventData)


class PoisonMessage(Exception):
    """Raised by a handler: the event can never be applied; it goes to the dead-letter topic at once."""


@dataclass
class HandlerRegistry:
    """Event handlers of one service, by event class and version.

    ``@handlers.handles(ReferralScreened)`` registers ``fn(uow, event, envelope)``, where `event` is
    the parsed contract. Registering a second handler for the same event is an error at start-up.

    ``outside_transaction=True``: the group's handlers do slow work that must not hold the database
    (a post to a partner, with retries and waits; on SQLite a transaction holds the one write lock).
    The runner then runs each handler with a read-only unit of work of its own (it writes, briefly, in
    units of work of its own), and claims the poll batch's handled events after them in one short
    transaction (``hhpu_shared.messaging.outside``). Such handlers are idempotent by event id: a crash
    between a handler and the claim repeats it.

    ``@handlers.prefilter_batch`` (outside_transaction only) registers ``fn(session, events)``: of a
    poll batch's events, the ids worth a handler, found in one read for the batch; the others are done
    with, unclaimed (an agency without a webhook has nothing to post). It must only leave out events
    whose handler would do nothing.
    """

    handlers: dict[tuple[str, int], Handler] = field(default_factory=dict)
    outside_transaction: bool = False
    prefilter: Prefilter | None = None
    _types: frozenset[str] = field(default=frozenset(), init=False, repr=False)
    _types_of: int = field(default=-1, init=False, repr=False)

    def handles(
        self, model: type[Ev]
    ) -> Callable[[Callable[[UnitOfWork, Ev, Envelope], None]], Callable[[UnitOfWork, Ev, Envelope], None]]:
        spec = event_spec(model)

        def deco(
            fn: Callable[[UnitOfWork, Ev, Envelope], None],
        ) -> Callable[[UnitOfWork, Ev, Envelope], None]:
            key = (spec.name, spec.version)
            if key in self.handlers:
                raise ValueError(f"a handler for {spec.name} v{spec.version} is already registered")
            self.handlers[key] = fn
            return fn

        return deco

    def prefilter_batch(self, fn: Prefilter) -> Prefilter:
        if not self.outside_transaction:
            raise ValueError("a prefilter is for a registry with outside_transaction=True")
        if self.prefilter is not None:
            raise ValueError("a prefilter is already registered")
        self.prefilter = fn
        return fn

    def handles_type(self, event_type: str) -> bool:
        """Is there a handler for some version of `event_type`? (Asked of every message polled.)"""
        if self._types_of != len(self.handlers):  # handlers registered since: read them again
            self._types, self._types_of = frozenset(name for name, _ in self.handlers), len(self.handlers)
        return event_type in self._types

    def handler_for(self, env: Envelope) -> Handler | None:
        return self.handlers.get((env.type, env.version))

    def topics(self) -> list[str]:
        out = set()
        for name, version in self.handlers:
            spec = spec_for(name, version)
            if spec is None:
                raise KeyError(f"handler for unknown event {name} v{version}")
            out.add(spec.topic)
        return sorted(out)
