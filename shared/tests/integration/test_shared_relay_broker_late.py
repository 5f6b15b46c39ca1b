"""A service's relay, started while the broker is away, publishes soon after it is back (real broker).

The relay connects in bounded attempts (`BROKER_ATTEMPT_S`; shortened here), so a stop never
waits long for it (test_shared_readiness.py). This checks the other side of that bound: attempts that
fail one after the other do not leave the outbox waiting once the broker answers. The broker "comes
back" as a plain TCP forwarder to the real broker, started on the bootstrap address the service was
given; the broker's metadata then sends the clients to the broker itself."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from hhpu_shared import runtime as runtime_module
from hhpu_shared.runtime import ServiceRuntime
from hhpu_shared.settings import ServiceSettings
from hhpu_shared.testing import steps
from hhpu_shared.testing.plugin import unique
from sqlalchemy import Engine

pytestmark = [pytest.mark.kafka]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Forwarder:
    """Forwards each connection accepted on 127.0.0.1:`port` to `target` (host:port), until closed."""

    def __init__(self, port: int, target: str) -> None:
        host, tport = target.rsplit(":", 1)
        self._target = (host, int(tport))
        self._server = socket.create_server(("127.0.0.1", port))
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._target, timeout=5)
            upstream.settimeout(None)
            self._conns += [client, upstream]
            threading.Thread(target=_pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=_pump, args=(upstream, client), daemon=True).start()

    def close(self) -> None:
        self._server.close()
        for s in self._conns:
            s.close()


@pytest.fixture
def late_port(kafka_bootstrap: str) -> Iterator[tuple[int, list[Forwarder]]]:
    started: list[Forwarder] = []
    yield _free_port(), started
    for f in started:
        f.close()


def test_a_relay_started_without_a_broker_publishes_soon_after_it_comes(
    engine: Engine,
    kafka_bootstrap: str,
    late_port: tuple[int, list[Forwarder]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    attempt_s = 1.0
    monkeypatch.setattr(runtime_module, "BROKER_ATTEMPT_S", attempt_s)
    port, forwarders = late_port
    settings = ServiceSettings(
        environment="test",
        transport="kafka",
        kafka_bootstrap=f"127.0.0.1:{port}",  # nothing listens there yet
        topic_namespace=unique("t") + ".",
    )
    rt = ServiceRuntime(settings, migrations=steps.TestDomainSchema(), engine=engine)  # type: ignore[arg-type]
    rt.start()
    try:
        assert rt.relay is not None
        steps.write_steps(engine, ["a", "b"], 2)
        rt.relay.wake()
        time.sleep(3 * attempt_s)  # several attempts fail
        assert rt.relay.pending() == 4 and rt.relay._failures >= 2

        forwarders.append(Forwarder(port, kafka_bootstrap))  # the broker is back
        back = time.monotonic()
        while rt.relay.pending() and time.monotonic() - back < 30:
            time.sleep(0.05)
        took = time.monotonic() - back
        assert rt.relay.pending() == 0, "the relay never published after the broker came back"
        # At most: the attempt under way (kafka-python retries its connection within an attempt about
        # every second), then one that connects. No backoff between: each failed attempt already waited.
        assert took < attempt_s + 1.5, took
    finally:
        rt.stop()
    assert not rt.started
