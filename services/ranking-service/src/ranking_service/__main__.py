"""``python -m ranking_service [serve|consumer|migrate]``."""

from ranking_service.app import SERVICE

if __name__ == "__main__":
    SERVICE.main()
