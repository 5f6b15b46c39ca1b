"""Header rules of the gateway's per-request path: what is never forwarded to a service, what every
answer carries, and the request id a client may set."""

from __future__ import annotations

import re

from .ops import API_CSP

RID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")
DROP_REQUEST = frozenset(
    {
        b"host",
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"proxy-authorization",
        b"cookie",
        b"forwarded",
        b"x-request-id",
        b"authorization",
        b"x-api-key",
        b"expect",
    }
)
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"strict-transport-security", b"max-age=63072000; includeSubDomains"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    API_CSP,
]
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRY_AFTER_S = 1  # every 503 says when to try again
