"""`python -m ranking_service`: serve the API with uvicorn."""

from __future__ import annotations

import uvicorn

from ranking_service.app import create_app
from ranking_service.settings import RankingSettings


def main() -> None:
    settings = RankingSettings()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port)


if __name__ == "__main__":
    main()
