"""HTTP routes by area (HTTP only: each calls the service layer)."""

from referral_api.routes import agencies, internal, referrals, reviews

ROUTERS = [referrals.router, reviews.router, agencies.router]
INTERNAL_ROUTERS = [internal.router]
