"""`python -m gateway`: serve the gateway (distributed mode) with uvicorn on the configured host/port."""

from __future__ import annotations

import uvicorn
from hhpu_shared.logging import configure_logging

from .server import uvicorn_options
from .settings import GatewaySettings


def main() -> None:
    s = GatewaySettings()  # refuses development secrets outside GATEWAY_ENVIRONMENT=development
    configure_logging("gateway", s.log_level)
    uvicorn.run(
        "gateway.app:create_app",
        factory=True,
        host=s.host,
        port=s.port,
        log_config=None,
        **uvicorn_options(s),  # head limits and timeout, keep-alive, concurrency, trusted proxies
    )


if __name__ == "__main__":
    main()
