"""Pure rules of the referral-api: lifecycle, screening, person matching, webhook signing."""
