"""`python -m gateway`: serve the gateway (distributed mode) with uvicorn on the configured host/port."""

from __future__ import annotations

import uvicorn
from hhpu_shared.logging import configure_logging

from .settings import GatewaySettings


def main() -> None:
    s = GatewaySettings()
    configure_logging("gateway", s.log_level)
    uvicorn.run(
        "gateway.app:create_app",
        factory=True,
        host=s.host,
        port=s.port,
        access_log=False,  # the gateway writes its own access log (route templates, no query strings)
        log_config=None,
        # client addresses (rate limits of unauthenticated callers) from X-Forwarded-For only behind
        # the proxies listed in GATEWAY_FORWARDED_ALLOW_IPS
        proxy_headers=bool(s.forwarded_allow_ips),
        forwarded_allow_ips=s.forwarded_allow_ips or None,
        server_header=False,  # no server banner
    )


if __name__ == "__main__":
    main()
