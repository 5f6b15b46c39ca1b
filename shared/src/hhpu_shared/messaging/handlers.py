"""Event handlers of one service, by event class and version (``HandlerRegistry``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hhpu_shared.events.envelope import Envelope
from hhpu_shared.events.registry import EventData, event_spec, spec_for
from hhpu_shared.uow import UnitOfWork

Handler = Callable[[UnitOfWork, Any, Envelope], None]
Ev = TypeVar("Ev", bound=EventData)


@dataclass
class HandlerRegistry:
    """Event handlers of one service, by event class and version.

    ``@handlers.handles(ReferralScreened)`` registers ``fn(uow, event, envelope)``, where `event` is
    the parsed contract. Registering a second handler for the same event is an error at start-up.

    ``outside_transaction=True``: the group's handlers do slow work that must not hold the database
    (a post to a partner, with retries and waits; on SQLite a transaction holds the one write lock).
    The runner then handles its events one at a time: the handler runs first, with a read-only unit of
    work (it writes, briefly, in units of work of its own), and the event is claimed after it in a short
    transaction. Such handlers are idempotent by event id: a crash between the two repeats them.
    """

    handlers: dict[tuple[str, int], Handler] = field(default_factory=dict)
    outside_transaction: bool = False

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
