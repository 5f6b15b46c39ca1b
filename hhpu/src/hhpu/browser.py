"""Load a page in Debian's headless Chromium and report what a person would see (browser tests only).

Chromium is driven over its DevTools protocol with aiohttp's WebSocket client: navigate, wait until a
JavaScript condition holds, collect console errors, uncaught exceptions and security (CSP) reports,
and take a screenshot. Nothing here is used by the running system.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
    "--window-size=1280,1600",
)


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageResult:
    ready: bool
    text: str
    errors: list[str] = field(default_factory=list)
    screenshot: Path | None = None


class _Session:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.errors: list[str] = []
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            data = json.loads(msg.data)
            if "id" in data and data["id"] in self.pending:
                self.pending.pop(data["id"]).set_result(data)
                continue
            method, params = data.get("method"), data.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                self.errors.append("console: " + " ".join(str(a.get("value", a)) for a in params["args"]))
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                self.errors.append(
                    "exception: " + str(details.get("exception", {}).get("description", details))
                )
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                entry = params["entry"]
                self.errors.append(
                    f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}".strip()
                )

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        mid = next(self.ids)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[mid] = fut
        await self.ws.send_str(json.dumps({"id": mid, "method": method, "params": params}))
        reply = await asyncio.wait_for(fut, 30)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        result: dict[str, Any] = reply.get("result", {})
        return result


async def _load(
    port: int, url: str, ready_js: str, timeout_s: float, shot: Path | None, headers: dict[str, str]
) -> PageResult:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/json/list") as r:
            targets = await r.json()
        ws_url = next(t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page")
        async with http.ws_connect(ws_url, max_msg_size=64 * 1024 * 1024) as ws:
            s = _Session(ws)
            for domain in ("Runtime", "Log", "Page", "Network"):
                await s.call(f"{domain}.enable")
            if headers:  # e.g. a bearer token for a page behind the gateway's authentication
                await s.call("Network.setExtraHTTPHeaders", headers=headers)
            await s.call("Page.navigate", url=url)
            deadline = time.monotonic() + timeout_s
            ready = False
            while time.monotonic() < deadline:
                out = await s.call("Runtime.evaluate", expression=f"Boolean({ready_js})", returnByValue=True)
                if out.get("result", {}).get("value") is True:
                    ready = True
                    break
                await asyncio.sleep(0.25)
            await asyncio.sleep(0.5)  # late console reports (CSP, failed fetches) arrive after the render
            body = await s.call("Runtime.evaluate", expression="document.body.innerText", returnByValue=True)
            if shot is not None:
                png = await s.call("Page.captureScreenshot", format="png", captureBeyondViewport=False)
                shot.parent.mkdir(parents=True, exist_ok=True)
                shot.write_bytes(base64.b64decode(png["data"]))
            s.reader.cancel()
            return PageResult(ready, str(body.get("result", {}).get("value", "")), list(s.errors), shot)


def load_page(
    url: str,
    ready_js: str,
    *,
    screenshot: Path | None = None,
    headers: dict[str, str] | None = None,
    timeout_s: float = 60,
) -> PageResult:
    """Open `url` in a fresh headless Chromium, wait (bounded) for `ready_js` to be true, report."""
    exe = chromium_path()
    if exe is None:
        raise RuntimeError("chromium is not installed (deploy/local/system-packages.sh installs it)")
    with tempfile.TemporaryDirectory(prefix="hhpu-chromium-", ignore_cleanup_errors=True) as profile:
        proc = subprocess.Popen(
            [exe, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + 60
            while not (port_file.exists() and port_file.read_text().strip()):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("chromium did not start")
                time.sleep(0.1)
            port = int(port_file.read_text().split()[0])
            return asyncio.run(_load(port, url, ready_js, timeout_s, screenshot, headers or {}))
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
