"""Fixtures for the gateway tests; helpers live in ``gateway.testing``."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from gateway.app import create_app
from gateway.routes import SERVICES
from gateway.testing import FakeKeyStore, ServerThread, make_echo, settings


@pytest.fixture(autouse=True)
def development_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """The gateway accepts its development secrets only when asked to: the tests ask."""
    monkeypatch.setenv("GATEWAY_ENVIRONMENT", "development")


@pytest.fixture
def keystore() -> FakeKeyStore:
    return FakeKeyStore()


@pytest.fixture
def gateway_client(keystore: FakeKeyStore) -> Iterator[Callable[..., TestClient]]:
    """Factory: a TestClient on a single-process gateway whose upstreams are echo apps."""
    clients: list[TestClient] = []

    def make(**kw: Any) -> TestClient:
        apps = {svc: make_echo(svc) for svc in SERVICES}
        apps.update(kw.pop("asgi_apps", {}))
        upstreams = kw.pop("upstreams", None)
        if upstreams:
            for name in upstreams:
                apps.pop(name, None)
        gw = create_app(settings(**kw), upstreams=upstreams, asgi_apps=apps, key_verifier=keystore)
        client = TestClient(gw, raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def served_echo() -> Iterator[Callable[..., ServerThread]]:
    servers: list[ServerThread] = []

    def start(service: str = "referral-api", **kw: Any) -> ServerThread:
        s = ServerThread(make_echo(service, **kw)).__enter__()
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.__exit__()


@pytest.fixture(params=["builtin", "aiohttp"])
def upstream_client(request: pytest.FixtureRequest) -> str:
    """HTTP-mode tests run with both upstream clients."""
    return str(request.param)


Step = bytes | float | None  # bytes: send; float: sleep that long; None: close the connection
Script = Callable[[str, str, int], list[Step]]  # (method, path, n-th request with this path) -> steps


class MisbehavingUpstream:
    """A raw HTTP/1.1 server on 127.0.0.1 (threads and sockets, no HTTP library): each request is answered
    with the steps its script gives, so the bytes on the wire are exactly the ones a test wants. Records
    every request (connection id, method, path, body) and every connection the gateway closed."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.requests: list[tuple[int, str, str, bytes]] = []
        self.closed: set[int] = set()
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        self.seen: dict[str, int] = {}
        self.identities: list[tuple[str, bytes]] = []  # (path, identity assertion) per request
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        cid = 0
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            cid += 1
            self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn, cid), daemon=True).start()

    def _read(self, conn: socket.socket, buf: bytes, until: bytes) -> tuple[bytes, bytes] | None:
        while until not in buf:
            data = conn.recv(65536)
            if not data:
                return None
            buf += data
        head, _, rest = buf.partition(until)
        return head, rest

    def _serve(self, conn: socket.socket, cid: int) -> None:
        buf = b""
        try:
            while True:
                got = self._read(conn, buf, b"\r\n\r\n")
                if got is None:
                    break
                head, buf = got
                lines = head.split(b"\r\n")
                method, target, _ = lines[0].decode().split(" ", 2)
                headers = dict(line.lower().split(b": ", 1) for line in lines[1:])
                body = b""
                if b"content-length" in headers:
                    n = int(headers[b"content-length"])
                    while len(buf) < n:
                        data = conn.recv(65536)
                        if not data:
                            raise ConnectionError
                        buf += data
                    body, buf = buf[:n], buf[n:]
                elif headers.get(b"transfer-encoding") == b"chunked":
                    got = self._read(conn, buf, b"0\r\n\r\n")
                    if got is None:
                        break
                    body, buf = got
                path = target.split("?", 1)[0]
                with self.lock:
                    self.requests.append((cid, method, path, body))
                    self.identities.append((path, headers.get(b"x-hhpu-identity", b"")))
                    n_seen = self.seen[path] = self.seen.get(path, 0) + 1
                steps = self.script(method, path, n_seen)
                for step in steps:
                    if step is None:
                        break
                    if isinstance(step, float):
                        time.sleep(step)
                    else:
                        conn.sendall(step)
                if None in steps:
                    break  # the upstream closes (the connection counts as closed)
        except OSError:
            pass
        with self.lock:
            self.closed.add(cid)
        conn.close()

    def wait_closed(self, cid: int, timeout: float = 3.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if cid in self.closed:
                    return True
            time.sleep(0.01)
        return False

    def conn_of(self, path: str) -> int:
        with self.lock:
            return next(cid for cid, _, p, _ in self.requests if p == path)

    def count(self, method: str, path: str) -> int:
        with self.lock:
            return sum(1 for _, m, p, _ in self.requests if m == method and p == path)

    def stop(self) -> None:
        self.sock.close()
        for c in self.conns:
            with contextlib.suppress(OSError):
                c.close()


@pytest.fixture
def misbehaving() -> Iterator[Callable[[Script], MisbehavingUpstream]]:
    servers: list[MisbehavingUpstream] = []

    def start(script: Script) -> MisbehavingUpstream:
        servers.append(MisbehavingUpstream(script))
        return servers[-1]

    yield start
    for s in servers:
        s.stop()
