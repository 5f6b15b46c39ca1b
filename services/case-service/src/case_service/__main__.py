"""``python -m case_service``: run the API with uvicorn on the configured host and port."""

from __future__ import annotations

import uvicorn

from case_service.app import create_app
from case_service.settings import CaseSettings


def main() -> None:
    settings = CaseSettings()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port)


if __name__ == "__main__":
    main()
