"""Run an in-process service's ASGI lifespan (startup/shutdown) inside the gateway's own."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.types import ASGIApp, Message

log = logging.getLogger("hhpu.gateway.lifespan")


class AsgiLifespan:
    def __init__(self, app: ASGIApp, name: str) -> None:
        self.app = app
        self.name = name
        self.state: dict[str, Any] = {}
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._outbox: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.supported = True

    async def _run(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}
        try:
            await self.app(scope, self._inbox.get, self._outbox.put)
        except Exception:
            if self.supported:
                log.info("in-process app has no lifespan support", extra={"upstream": self.name})
            self.supported = False
        finally:
            await self._outbox.put({"type": "lifespan.ended"})

    async def startup(self) -> None:
        self._inbox = asyncio.Queue()
        self._outbox = asyncio.Queue()
        self._task = asyncio.create_task(self._run())
        await self._inbox.put({"type": "lifespan.startup"})
        msg = await self._outbox.get()
        if msg["type"] == "lifespan.startup.failed":
            raise RuntimeError(f"{self.name} failed to start: {msg.get('message', '')}")
        if msg["type"] == "lifespan.ended":
            self.supported = False

    async def shutdown(self) -> None:
        if self._task is None:
            return
        if self.supported and not self._task.done():
            await self._inbox.put({"type": "lifespan.shutdown"})
            msg = await self._outbox.get()
            if msg["type"] == "lifespan.shutdown.failed":
                log.error("in-process app failed to stop", extra={"upstream": self.name})
        await self._task
        self._task = None
