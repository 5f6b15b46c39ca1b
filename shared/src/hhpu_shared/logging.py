"""JSON logs carrying request and correlation ids, never personal data.

Only the message, the logger and a whitelist of operational fields are written; anything
else a caller passes in ``extra`` is dropped, so a careless ``extra={"name": ...}`` cannot
leak personal data into ordinary logs.
"""

from __future__ import annotations

import faulthandler
import json
import logging
import signal
import sys
from datetime import UTC, datetime
from typing import Any

from hhpu_shared.context import correlation_id_var, request_id_var, service_var

SAFE_FIELDS = frozenset(
    {
        "service",
        "method",
        "route",
        "status",
        "duration_ms",
        "event_type",
        "topic",
        "offset",
        "attempt",
        "error",
        "group",
        "published",
        "failed_aggregates",
        "count",
        "run_id",
        "path_template",
        "upstream",
        "client_kind",
    }
)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            # the record's own, else the service whose work is running, else the process's
            "service": record.__dict__.get("service") or service_var.get() or self.service,
        }
        rid = request_id_var.get()
        cid = correlation_id_var.get()
        if rid:
            out["request_id"] = rid
        if cid:
            out["correlation_id"] = cid
        for key in SAFE_FIELDS:
            if key in record.__dict__ and key not in out:
                out[key] = record.__dict__[key]
        if record.exc_info and record.exc_info[0] is not None:
            out["exc_type"] = record.exc_info[0].__name__
        return json.dumps(out, default=str)


class CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the `sys.stderr` of the moment, not the one it was made with: a stream replaced and
    closed since (a test's captured stderr, once that test is over) must not turn every later record
    into a "--- Logging error ---" on the next stream."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:  # StreamHandler.__init__ assigns it; the property wins
        pass


def configure_logging(service: str, level: str = "INFO", *, kafka_level: str = "INFO") -> None:
    """JSON on stderr for every logger, the Kafka client's included (at `kafka_level`: its INFO
    lines say when it connects, loses a broker, joins or leaves a group, which is what explains a
    stall after a broker restart)."""
    root = logging.getLogger()
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    handler = CurrentStderrHandler()
    handler.setFormatter(JsonFormatter(service))
    root.handlers = [handler]
    root.setLevel(level)
    kafka = logging.getLogger("kafka")
    kafka.setLevel(kafka_level)
    kafka.propagate = True
    for noisy in ("uvicorn.access", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    enable_stack_dumps()


def enable_stack_dumps() -> bool:
    """SIGUSR1 writes every thread's stack to the process's stderr (the standard library's
    faulthandler: file, line and function names, never a variable's value). An operator, or a
    failed end-to-end test, can see where a process that stopped making progress is waiting.
    False where stderr is not a file (then nothing is registered)."""
    stream = sys.__stderr__
    try:
        if stream is None:
            return False
        faulthandler.register(signal.SIGUSR1, file=stream, all_threads=True, chain=False)
    except (AttributeError, ValueError, OSError):  # no fileno (a captured stream) or no SIGUSR1
        return False
    return True
