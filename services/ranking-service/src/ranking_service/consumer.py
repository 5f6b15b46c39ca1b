"""``python -m ranking_service.consumer``: the event consumer, relay and background work, until SIGTERM."""

from ranking_service.app import SERVICE


def main() -> None:
    SERVICE.main(["consumer"])


if __name__ == "__main__":
    main()
