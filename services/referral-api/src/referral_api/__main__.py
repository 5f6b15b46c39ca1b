"""``python -m referral_api``: serve the API with uvicorn."""

from __future__ import annotations

import os

import uvicorn

from referral_api.app import create_app


def main() -> None:
    uvicorn.run(
        create_app(),
        host=os.environ.get("REFERRAL_HOST", "0.0.0.0"),
        port=int(os.environ.get("REFERRAL_PORT", "8001")),
    )


if __name__ == "__main__":
    main()
