"""Helpers for end-to-end tests of the running system (distributed or single-process)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import httpx
from gateway.tokens import mint_dev_token
from sqlalchemy import create_engine, text

from hhpu.distributed import die_with_parent, free_port

T = TypeVar("T")


def bearer(role: str, sub: str | None = None, name: str | None = None) -> dict[str, str]:
    token = mint_dev_token(sub or f"e2e-{role}", [role], name=name or f"E2E {role}")
    return {"Authorization": f"Bearer {token}", "X-Justification": "end-to-end test of the unit's workflow"}


def eventually(fn: Callable[[], T | None], *, timeout_s: float = 60, what: str = "condition") -> T:
    """Poll `fn` until it returns a truthy value (bounded in time)."""
    deadline = time.monotonic() + timeout_s
    last: T | None = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}; last value: {last!r}")


class WebhookReceiver:
    """A partner's webhook endpoint on 127.0.0.1 that records what it receives."""

    def __init__(self) -> None:
        received: list[dict[str, Any]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                received.append({"headers": dict(self.headers), "body": body, "json": json.loads(body)})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def create_agency(
    gw: httpx.Client, name: str, kind: str, webhook_url: str | None = None
) -> tuple[dict[str, Any], str]:
    """Register a partner agency through the gateway and issue its API key: (agency, key)."""
    admin = bearer("administrator")
    body = {"name": name, "agency_type": kind, "contact_name": "Single point of contact"}
    if webhook_url:
        body["webhook_url"] = webhook_url
    r = gw.post("/api/v1/agencies", json=body, headers=admin)
    assert r.status_code == 201, r.text
    agency: dict[str, Any] = r.json()
    k = gw.post(f"/api/v1/agencies/{agency['id']}/keys", json={"label": "e2e"}, headers=admin)
    assert k.status_code == 201, k.text
    return agency, str(k.json()["key"])


def db_scalar(url: str, sql: str, **params: object) -> Any:
    """One value from a service's database (end-to-end tests check the final state there too)."""
    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            return conn.execute(text(sql), params).scalar()
    finally:
        eng.dispose()


class SingleProcessRun:
    """`hhpu run` (what `make run` starts) as a subprocess on a private port and data directory.

    Tests start it, kill it (SIGKILL for a crash) and start it again on the same data directory."""

    def __init__(self, data_dir: Path, *, seed: bool = False, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.seed = seed
        self.env = env or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}-run.log"

    def start(self, *, timeout_s: float = 180) -> SingleProcessRun:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cmd = [str(Path(sys.executable).parent / "hhpu"), "run", "--port", str(self.port)]
        cmd += ["--data-dir", str(self.data_dir)] + ([] if self.seed else ["--no-seed"])
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.env},
                start_new_session=True,
                preexec_fn=die_with_parent,  # only prctl between fork and exec
            )
        eventually(self.ready, timeout_s=timeout_s, what="hhpu run to be ready")
        return self

    def ready(self) -> bool:
        if self.proc is None or self.proc.poll() is not None:
            raise AssertionError(f"hhpu run exited: {self.log_tail()}")
        try:
            return httpx.get(self.url + "/readyz", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the process (SIGKILL: a crash, nothing flushed or closed) and wait for it to end."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=60)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None
