"""``python -m meeting_service.consumer``: events in, the relay and the overdue sweep, until SIGTERM."""

from __future__ import annotations

from hhpu_shared.runtime import run_until_signalled

from meeting_service.app import build_runtime
from meeting_service.settings import MeetingSettings


def main() -> None:
    run_until_signalled(build_runtime(MeetingSettings(), run_consumer=True))


if __name__ == "__main__":
    main()
