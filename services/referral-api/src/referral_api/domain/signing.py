"""Webhook signatures: ``X-HHPU-Signature: sha256=<hex HMAC-SHA256 of the raw body>``."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-HHPU-Signature"
TIMESTAMP_HEADER = "X-HHPU-Timestamp"


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, signature: str) -> bool:
    """What a receiving agency does: recompute and compare in constant time."""
    return hmac.compare_digest(sign(body, secret), signature)


def backoff_delay(attempts: int, base_s: float, max_s: float) -> float:
    """Delay before the next try after `attempts` failed tries: base, 2*base, 4*base ... capped."""
    return float(min(max_s, base_s * (2 ** max(0, attempts - 1))))
