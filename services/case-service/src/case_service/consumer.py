"""``python -m case_service.consumer``: the relay and the event consumer, until SIGTERM."""

from __future__ import annotations

from hhpu_shared.runtime import run_until_signalled

from case_service.app import build_runtime
from case_service.settings import CaseSettings


def main() -> None:
    run_until_signalled(build_runtime(CaseSettings(), run_consumer=True))


if __name__ == "__main__":
    main()
