"""Request and correlation ids carried through logs and events by context variables."""

from __future__ import annotations

import uuid
from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def new_id() -> str:
    return uuid.uuid4().hex


def current_correlation_id() -> str:
    return correlation_id_var.get() or request_id_var.get() or new_id()
