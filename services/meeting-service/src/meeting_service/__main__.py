"""``python -m meeting_service [serve|consumer|migrate]``."""

from meeting_service.app import SERVICE

if __name__ == "__main__":
    SERVICE.main()
