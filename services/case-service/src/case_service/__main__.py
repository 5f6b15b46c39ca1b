"""``python -m case_service [serve|consumer|migrate]``."""

from case_service.app import SERVICE

if __name__ == "__main__":
    SERVICE.main()
