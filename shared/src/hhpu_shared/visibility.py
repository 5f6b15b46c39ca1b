"""Least privilege by field: which of a person's fields each role may see (one table, every service).

Fields fall in three classes:

- ``reference``: pseudonymous references (person id, records reference), scores, ranks, statuses:
  every role allowed on the route sees them;
- ``identity``: names, labels, aliases, date of birth, PNC number;
- ``narrative``: free text about the person (a referral's concern, an agenda item's title and
  minute, an action's description, case notes).

Analysts work on references and scores only: identity and narrative fields are withheld from
them (``None``, or :data:`WITHHELD` for a text field that cannot be empty) on every route that
carries them, agendas, packs and referrals included. A partner agency sees what it supplied about
its own subjects (agency scope is enforced by the services). The matrix is tested route by route.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

from hhpu_shared.auth import Principal, Role

WITHHELD = "[withheld]"

IDENTITY_FIELDS = frozenset(
    {
        "given_name",
        "family_name",
        "middle_names",
        "aliases",
        "date_of_birth",
        "pnc_number",
        "person_label",
        "name",
        "subject_given_name",
        "subject_family_name",
        "subject_middle_names",
        "subject_aliases",
        "subject_date_of_birth",
        "subject_pnc_number",
        "other_identifiers",
        "area",
    }
)
NARRATIVE_FIELDS = frozenset(
    {
        "summary",
        "title",
        "item_title",
        "minutes",
        "notes",
        "description",
        "text",
        "status_note",
        "reason",
        "deferred_reason",
        "carried_reason",
        "note",
        "evidence_summary",
        "risk_indicators",
    }
)

# Role -> the field classes it sees beyond references.
ROLE_CLASSES: Mapping[str, frozenset[str]] = {
    Role.OFFENDER_MANAGER: frozenset({"identity", "narrative"}),
    Role.UNIT_SUPERVISOR: frozenset({"identity", "narrative"}),
    Role.MEETING_CHAIR: frozenset({"identity", "narrative"}),
    Role.ADMINISTRATOR: frozenset({"identity", "narrative"}),
    Role.DATA_PROTECTION_OFFICER: frozenset({"identity", "narrative"}),
    Role.PARTNER_AGENCY: frozenset({"identity", "narrative"}),  # its own subjects only (service scope)
    Role.SYSTEM: frozenset({"identity", "narrative"}),
    Role.ANALYST: frozenset(),
}

M = TypeVar("M", bound=BaseModel)


def classes_for(principal: Principal) -> frozenset[str]:
    """The union over the caller's roles (an analyst who is also a supervisor sees what a supervisor sees)."""
    out: frozenset[str] = frozenset()
    for role in principal.roles:
        out |= ROLE_CLASSES.get(role, frozenset())
    return out


def hidden_fields(principal: Principal) -> frozenset[str]:
    seen = classes_for(principal)
    hidden: set[str] = set()
    if "identity" not in seen:
        hidden |= IDENTITY_FIELDS
    if "narrative" not in seen:
        hidden |= NARRATIVE_FIELDS
    return frozenset(hidden)


def _blank(value: Any) -> Any:
    if isinstance(value, str):
        return WITHHELD
    if isinstance(value, list | tuple):
        return type(value)()
    return None


def redact(principal: Principal, model: M, fields: Iterable[str] | None = None) -> M:
    """A copy of `model` with the fields the caller may not see withheld (nested models too)."""
    hidden = hidden_fields(principal)
    if not hidden:
        return model
    return _redact_model(model, hidden if fields is None else hidden & set(fields))


def _redact_model(model: M, hidden: frozenset[str] | set[str]) -> M:
    update: dict[str, Any] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if name in hidden and value is not None:
            update[name] = _blank(value)
        elif isinstance(value, BaseModel):
            update[name] = _redact_model(value, hidden)
        elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
            update[name] = [_redact_model(v, hidden) for v in value]
    return model.model_copy(update=update) if update else model


def redact_dict(principal: Principal, data: dict[str, Any]) -> dict[str, Any]:
    """The same rule for a plain dictionary (nested dictionaries and lists too)."""
    hidden = hidden_fields(principal)
    return _redact_value(data, hidden) if hidden else data


def _redact_value(value: Any, hidden: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {
            k: (_blank(v) if k in hidden and v is not None else _redact_value(v, hidden))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redact_value(v, hidden) for v in value]
    return value
