"""Example request bodies of the meeting-service's API, shown in /docs (and checked to validate)."""

from __future__ import annotations

from typing import Any

EXAMPLES: dict[str, list[dict[str, Any]]] = {
    "MeetingTypeUpsert": [
        {
            "name": "Monthly multi-agency meeting",
            "default_duration_minutes": 120,
            "agenda_limit_minutes": 120,
            "quorum_agencies": 3,
            "enforce_quorum": False,
        }
    ],
    "AgencyUpsert": [
        {"name": "Housing", "spoc_name": "Priya Shah", "spoc_email": "priya.shah@housing.example.org"}
    ],
    "SeriesCreate": [
        {
            "meeting_type_id": "monthly_mam",
            "title": "HHPU monthly multi-agency meeting",
            "recurrence": "monthly",
            "weekday": 1,
            "ordinal": 1,
            "start_time": "10:00",
            "location": "Force HQ, room 2",
            "invited_agency_ids": ["probation", "housing"],
        }
    ],
    "ScheduleRequest": [{"count": 3}],
    "MeetingCreate": [
        {
            "meeting_type_id": "case_conference",
            "title": "Case conference: Dean Marsh",
            "scheduled_on": "2026-12-14",
            "start_time": "14:00",
            "location": "Force HQ, room 2",
            "chair_name": "DI Sarah Cole",
            "invited_agency_ids": ["probation", "housing"],
        }
    ],
    "MeetingUpdate": [{"start_time": "10:30", "location": "Force HQ, room 4"}],
    "InviteRequest": [{"agency_id": "adult_social_care"}],
    "InvitationUpdate": [
        {"response": "apologies", "apology_reason": "staff shortage"},
        {"attended": True, "attendees": "Priya Shah, tenancy officer"},
    ],
    "AgendaItemCreate": [
        {
            "kind": "other",
            "title": "Partnership update: housing",
            "planned_minutes": 10,
            "notes": "new supported housing places",
        }
    ],
    "AgendaItemUpdate": [
        {"minutes": "Housing confirmed a tenancy; the address check is booked.", "planned_minutes": 15}
    ],
    "ReorderRequest": [{"item_ids": ["itm-2b7c0d1e", "itm-9f4a3c5b"]}],
    "OutcomeCreate": [
        {
            "kind": "decision",
            "decision": "adopt",
            "decided_by": "DI Sarah Cole",
            "cohort": "hhpu",
            "reason": "repeat high-harm offending",
        },
        {
            "kind": "action",
            "description": "Housing to confirm the address",
            "owner_name": "Priya Shah",
            "owner_agency_id": "housing",
            "due_date": "2026-12-14",
        },
        {"kind": "information", "text": "Probation: licence conditions unchanged."},
    ],
    "ActionCreate": [
        {
            "description": "Housing to confirm the address",
            "owner_name": "Priya Shah",
            "owner_agency_id": "housing",
            "due_date": "2026-12-14",
        }
    ],
    "ActionStatusUpdate": [{"status": "done", "note": "address confirmed at the visit"}],
    "CarryOverRequest": [{"reason_code": "not_done_by_agency", "reason": "officer on leave"}],
    "AddendumCreate": [{"text": "Correction: the address check is due on the 14th, not the 4th."}],
}


def examples(model: str) -> dict[str, Any]:
    """`json_schema_extra` of one request model: its examples."""
    return {"examples": EXAMPLES[model]}
