"""Demo data for a fictional force, seeded through the gateway's public API where one exists.

Every journey starts with something to see: agencies and their keys, the drug and alcohol
service's webhook pointed at a loopback receiver (journey 1), a synthetic force with a year of
back-tested monthly runs, a fortnight's run and today's run with a small demo bracket (journeys 2
and 5), the next meetings with open and overdue actions (journey 3), the offender managers with
their managed cases, risk assessments and interventions (journeys 4 and 5), and the journey-1
referral (Dean Marsh). Everything is fictional.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from gateway.settings import GatewaySettings
from gateway.tokens import mint_dev_token
from hhpu_shared import clock

if TYPE_CHECKING:  # the command line mints demo tokens without loading the services
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
    webhook: dict[str, str] = field(default_factory=dict)  # url, secret, log (the demo receiver)

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


DEMO_BRACKET = 8  # today's run proposes at most this many people, so the first agenda fits
HISTORY_RUNS = 6  # back-tested runs, eight weeks apart, in the year before the run of a year ago


def seed(
    system: System,
    client: httpx.Client,
    today: date | None = None,
    *,
    webhook_url: str | None = None,
    history_runs: int = HISTORY_RUNS,
) -> DemoCredentials:
    """Seed the running system (client points at the gateway)."""
    from hhpu import demo_work

    day = today or clock.today()
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

    from case_service.seed import backdate_adoptions, seed_demo_managers
    from meeting_service.seed import seed_demo

    if webhook_url:
        secret = demo_work.register_webhook(
            client, creds.tokens, creds.agency_ids["drug_and_alcohol_service"], webhook_url
        )
        creds.webhook = {"agency": "drug_and_alcohol_service", "url": webhook_url, "secret": secret}
    seed_demo_managers(system.runtime("case-service"))
    plan = seed_demo(system.runtime("meeting-service"), agencies=meeting_agencies, today=today)
    ids = demo_work.seed_caseload(client, creds.tokens, day)
    when = demo_work.adoption_months(day)
    backdate_adoptions(system.runtime("case-service"), {cid: when[name] for name, cid in ids.items()})
    system.settle()  # the ranking learns who is managed before it runs
    seed_ranking(system, today, history_runs=history_runs)
    system.settle()  # the referral-api now knows the ranking's people, as in journey 1
    demo_work.seed_actions(client, creds.tokens, plan["next_meeting_id"], creds.agency_ids, day)

    das = {
        "X-API-Key": creds.agency_keys["drug_and_alcohol_service"],
        "Idempotency-Key": "demo-DAS-2026-0412",
    }
    r = client.post("/api/v1/referrals", json=dean_marsh_referral(), headers=das)
    r.raise_for_status()
    return creds


def seed_ranking(system: System, today: date | None = None, *, history_runs: int = HISTORY_RUNS) -> None:
    """A synthetic force (with Dean Marsh among its people), a year of back-tested history and
    today's production run with the small demo bracket."""
    from ranking_service.demo import seed_demo as seed_ranking_demo

    runtime = system.runtime("ranking-service")
    seed_ranking_demo(
        runtime,
        runtime.settings,  # type: ignore[arg-type]
        today=today,
        history_runs=history_runs,
        current_top_n=DEMO_BRACKET,
        scheduled=True,  # this fortnight's scheduled run: the schedule owes nothing more this period
    )
