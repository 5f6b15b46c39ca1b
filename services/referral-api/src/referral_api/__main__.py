"""``python -m referral_api [serve|consumer|migrate]``."""

from referral_api.app import SERVICE

if __name__ == "__main__":
    SERVICE.main()
