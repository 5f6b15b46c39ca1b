"""A tiny webhook receiver on a loopback port, to watch what a partner agency receives.

`hhpu run` starts one for the demo's drug and alcohol service (its address and the log file are in
the banner); `hhpu webhook-receiver --port N --secret whsec_...` runs one by hand. Each delivery is
checked (HMAC-SHA256 of `<timestamp>.<body>` with the agency's secret, as docs/webhooks.md says,
with Python's own `hmac`), printed on one line and appended to a JSON-lines file. No personal data
is ever in a webhook, so the log holds none.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def verify(secret: str, timestamp: str, body: bytes, signature: str, tolerance_s: int = 300) -> bool:
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance_s:
        return False
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest("sha256=" + expected, signature)


class Receiver:
    """Serves POSTs on 127.0.0.1:`port` in a daemon thread; `deliveries` holds what arrived."""

    def __init__(self, port: int, secret: str | None, log_file: Path | None, *, echo: bool = True) -> None:
        self.secret, self.log_file, self.echo = secret, log_file, echo
        self.deliveries: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
                receiver.record(
                    body, self.headers.get("X-HHPU-Timestamp", ""), self.headers.get("X-HHPU-Signature", "")
                )
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # quiet: we print our own line
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhook"

    def record(self, body: bytes, timestamp: str, signature: str) -> None:
        try:
            event: dict[str, Any] = json.loads(body)
        except ValueError:
            event = {"unparsable": body[:200].decode(errors="replace")}
        ok = None if self.secret is None else verify(self.secret, timestamp, body, signature)
        row = {"received_at": time.strftime("%Y-%m-%dT%H:%M:%S"), "signature_valid": ok, "event": event}
        self.deliveries.append(row)
        if self.log_file is not None:
            with self.log_file.open("a") as f:
                f.write(json.dumps(row) + "\n")
        if self.echo:
            sig = {True: "signature ok", False: "SIGNATURE INVALID", None: "not checked"}[ok]
            print(  # noqa: T201
                f"[webhook] {event.get('partner_reference', '?')}: {event.get('from_status')} -> "
                f"{event.get('to_status')} ({event.get('reason_code')}; {sig})",
                flush=True,
            )

    def start(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, name="webhook-receiver", daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def cmd_receiver(args: argparse.Namespace) -> None:
    rec = Receiver(args.port, args.secret, Path(args.log) if args.log else None)
    print(f"listening on {rec.url}; register it as the agency's webhook_url. Ctrl-C stops.")  # noqa: T201
    try:
        rec.server.serve_forever()
    except KeyboardInterrupt:
        rec.stop()


def add_parser(sub: Any) -> None:
    w = sub.add_parser("webhook-receiver", help="receive, check and print a partner's webhooks (loopback)")
    w.add_argument("--port", type=int, default=8099)
    w.add_argument("--secret", help="the agency's webhook secret (whsec_...) to check signatures")
    w.add_argument("--log", help="append each delivery as a JSON line to this file")
    w.set_defaults(fn=cmd_receiver)
