"""Webhook signatures over the timestamp and the body (docs/webhooks.md).

``X-HHPU-Timestamp: <unix seconds>`` and
``X-HHPU-Signature: sha256=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>``: a receiver that
checks both the signature and that the timestamp is recent refuses altered and replayed calls.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-HHPU-Signature"
TIMESTAMP_HEADER = "X-HHPU-Timestamp"
REPLAY_WINDOW_S = 300  # what receivers are told to accept: five minutes either side of their clock


def signed_content(timestamp: str, body: bytes) -> bytes:
    """What the signature covers: the timestamp, a dot, then the raw body."""
    return timestamp.encode() + b"." + body


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), signed_content(timestamp, body), hashlib.sha256).hexdigest()
    return "sha256=" + digest


def signature_headers(secret: str, body: bytes, now: float) -> dict[str, str]:
    timestamp = str(int(now))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(secret, timestamp, body)}


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    now: float,
    tolerance_s: float = REPLAY_WINDOW_S,
) -> bool:
    """What a receiving agency does: a recent timestamp and a signature that matches, compared in
    constant time."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)
