"""``python -m referral_api.consumer``: event and webhook consumers and the relay, until SIGTERM."""

from referral_api.app import SERVICE


def main() -> None:
    SERVICE.main(["consumer"])


if __name__ == "__main__":
    main()
