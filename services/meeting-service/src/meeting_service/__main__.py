"""``python -m meeting_service``: run the API with uvicorn."""

from __future__ import annotations

import os

import uvicorn

from meeting_service.app import create_app


def main() -> None:
    host = os.environ.get("MEETING_HOST", "127.0.0.1")
    port = int(os.environ.get("MEETING_PORT", "8004"))
    uvicorn.run(create_app(), host=host, port=port)


if __name__ == "__main__":
    main()
