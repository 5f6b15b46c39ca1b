"""Every event contract of the platform, by producing service. Importing registers them."""

from hhpu_shared.events.contracts import case, meeting, ranking, referral

__all__ = ["case", "meeting", "ranking", "referral"]
