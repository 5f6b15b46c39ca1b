"""``python -m ranking_service.consumer``: consume case-service events and relay our outbox, until SIGTERM."""

from __future__ import annotations

from hhpu_shared.runtime import run_until_signalled

from ranking_service.app import build_runtime
from ranking_service.settings import RankingSettings


def main() -> None:
    run_until_signalled(build_runtime(RankingSettings(), run_consumer=True))


if __name__ == "__main__":
    main()
