"""``python -m meeting_service.consumer``: the event consumer, relay and overdue sweep, until SIGTERM."""

from meeting_service.app import SERVICE


def main() -> None:
    SERVICE.main(["consumer"])


if __name__ == "__main__":
    main()
