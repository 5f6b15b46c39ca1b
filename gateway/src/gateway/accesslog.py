"""Access log lines without personal data (route template, never the raw path or query), written cheaply.

Same JSON shape as ``hhpu_shared.logging.JsonFormatter`` (logger ``hhpu.access``), but formatted
directly and written in batches (every `interval_s` or 256 lines) instead of one ``write`` + flush per
request through the logging module, which cost more than the rest of the gateway's own work.
Every value is either ours or validated (method token, request id pattern), so no escaping is needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from datetime import UTC, datetime
from typing import TextIO

LOGGER = "hhpu.access"


class AccessLog:
    def __init__(
        self, service: str = "gateway", stream: TextIO | None = None, interval_s: float = 1.0
    ) -> None:
        self.service = service
        self.stream = stream
        self.interval_s = interval_s
        self.lines: list[str] = []
        self._task: asyncio.Task[None] | None = None

    def write(
        self, rid: str, method: str, route: str, status: int, ms: float, upstream: str, client_kind: str
    ) -> None:
        ts = datetime.now(UTC).isoformat()
        self.lines.append(
            f'{{"ts": "{ts}", "level": "INFO", "logger": "{LOGGER}", "msg": "request", '
            f'"service": "{self.service}", "request_id": "{rid}", "method": "{method}", "route": "{route}", '
            f'"status": {status}, "duration_ms": {ms:.2f}, "upstream": "{upstream}", '
            f'"client_kind": "{client_kind}"}}\n'
        )
        if len(self.lines) >= 256:
            self.flush()

    def flush(self) -> None:
        if not self.lines:
            return
        data, self.lines = "".join(self.lines), []
        stream = self.stream or sys.stderr
        try:
            stream.write(data)
            stream.flush()
        except (OSError, ValueError):
            pass

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            self.flush()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.flush()
