"""Demo data for a fictional force, seeded through the gateway's public API where one exists.

Agencies and their keys, the offender managers, the meeting series, a ranking run over a
synthetic force and the journey-1 referral (Dean Marsh, from the drug and alcohol service).
Everything is fictional.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from gateway.settings import GatewaySettings
from gateway.tokens import mint_dev_token

from hhpu.system import System

AGENCIES = (
    ("Surrey Drug and Alcohol Service", "drug_and_alcohol_service", "Sam Carter"),
    ("Probation Service (Surrey)", "probation", "Grace Okafor"),
    ("Children's Services", "childrens_services", "Tom Reid"),
    ("Housing Options", "housing", "Priya Shah"),
    ("Adult Social Care", "adult_social_care", "Ruth Malik"),
    ("Police Public Protection Unit", "police_unit", "DS Alan Hughes"),
)

STAFF = {
    "administrator": ("admin", "Unit Administrator"),
    "unit_supervisor": ("di-morgan", "DI Morgan Hale"),
    "offender_manager": ("om-ann", "PC Ann Lee"),
    "analyst": ("analyst-kim", "Kim Analyst"),
    "meeting_chair": ("chair-lou", "DCI Lou Barnes"),
    "data_protection_officer": ("dpo-sam", "Sam Okafor (Data Protection Officer)"),
}


@dataclass
class DemoCredentials:
    tokens: dict[str, str] = field(default_factory=dict)
    agency_keys: dict[str, str] = field(default_factory=dict)
    agency_ids: dict[str, str] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.__dict__, indent=2))

    @classmethod
    def load(cls, path: Path) -> DemoCredentials:
        return cls(**json.loads(path.read_text()))


def staff_tokens(ttl_s: int | None = None) -> dict[str, str]:
    """Development staff tokens, living as long as the gateway allows (``jwt_max_lifetime_s``)."""
    if ttl_s is None:
        ttl_s = int(GatewaySettings.model_fields["jwt_max_lifetime_s"].default)
    return {role: mint_dev_token(sub, [role], name=name, ttl_s=ttl_s) for role, (sub, name) in STAFF.items()}


def dean_marsh_referral() -> dict[str, Any]:
    """Journey 1: the drug and alcohol service refers a domestic-abuse suspect (the API's example)."""
    from referral_api.schemas import REFERRAL_EXAMPLE

    return copy.deepcopy(REFERRAL_EXAMPLE)


def seed(system: System, client: httpx.Client, today: date | None = None) -> DemoCredentials:
    """Seed the running system (client points at the gateway)."""
    creds = DemoCredentials(tokens=staff_tokens())
    admin = {"Authorization": f"Bearer {creds.tokens['administrator']}"}
    meeting_agencies = []
    for name, kind, contact in AGENCIES:
        r = client.post(
            "/api/v1/agencies",
            json={"name": name, "agency_type": kind, "contact_name": contact},
            headers=admin,
        )
        r.raise_for_status()
        agency_id = r.json()["id"]
        creds.agency_ids[kind] = agency_id
        k = client.post(f"/api/v1/agencies/{agency_id}/keys", json={"label": "demo"}, headers=admin)
        k.raise_for_status()
        creds.agency_keys[kind] = k.json()["key"]
        meeting_agencies.append((agency_id, name, contact, f"{kind}@example.org"))

    from case_service.seed import seed_demo_managers
    from meeting_service.seed import seed_demo

    seed_demo_managers(system.runtime("case-service"))
    seed_demo(system.runtime("meeting-service"), agencies=meeting_agencies, today=today)
    seed_ranking(system, today)
    system.settle()  # the referral-api now knows the ranking's people, as in journey 1

    das = {
        "X-API-Key": creds.agency_keys["drug_and_alcohol_service"],
        "Idempotency-Key": "demo-DAS-2026-0412",
    }
    r = client.post("/api/v1/referrals", json=dean_marsh_referral(), headers=das)
    r.raise_for_status()
    return creds


def seed_ranking(system: System, today: date | None = None) -> None:
    """A synthetic force (with Dean Marsh among its people) and one production ranking run."""
    from ranking_service.demo import seed_demo as seed_ranking_demo

    runtime = system.runtime("ranking-service")
    seed_ranking_demo(runtime, runtime.settings, today=today)  # type: ignore[arg-type]
