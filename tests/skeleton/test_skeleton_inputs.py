"""Every request body of every service is built from the shared field types, so a new field cannot
forget them: each string is a `Line` or a `Text` (no control characters), each date a `BirthDate`,
`PastDate` or `PlanDate` (a plausible range), each number and flag strict (`true` is not 1, `"5"` not 5).
"""

from __future__ import annotations

import types
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import pytest
from fastapi.routing import APIRoute
from hhpu.services import SERVICES, spec
from hhpu_shared import fields
from hhpu_shared.testing.databases import migrated
from pydantic import AfterValidator, BaseModel, BeforeValidator, Strict

TEXT_CHECKS = {fields.check_line, fields.check_text}
DATE_CHECKS = {fields.check_birth_date, fields.check_past_date, fields.check_plan_date}
# Fields held to a stricter rule than the shared types: a pattern that admits no control character.
EXEMPT = {
    "SeriesCreate.start_time": "pattern HH:MM",
    "MeetingCreate.start_time": "pattern HH:MM",
    "MeetingUpdate.start_time": "pattern HH:MM",
}


def _validators(meta: list[Any]) -> set[Any]:
    return {m.func for m in meta if isinstance(m, AfterValidator | BeforeValidator)}


def unchecked(tp: Any, meta: list[Any], where: str, seen: set[type]) -> list[str]:
    """The fields under `tp` that escape the shared checks."""
    origin, args = get_origin(tp), get_args(tp)
    if origin is Annotated:
        return unchecked(args[0], [*meta, *args[1:]], where, seen)
    if origin in (Union, types.UnionType):
        return [w for a in args if a is not type(None) for w in unchecked(a, meta, where, seen)]
    if origin in (list, tuple, set, frozenset):
        return [w for a in args if a is not Ellipsis for w in unchecked(a, [], f"{where}[]", seen)]
    if origin is dict:
        return unchecked(args[0], [], f"{where}{{key}}", seen) + unchecked(args[1], [], f"{where}{{}}", seen)
    if origin is Literal:
        bare_ints = any(isinstance(a, int) for a in args) and fields._exact_int not in _validators(meta)
        return [f"{where} (Literal of integers without IntChoice)"] if bare_ints else []
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if tp in seen:
            return []
        seen.add(tp)
        return [
            w
            for name, f in tp.model_fields.items()
            for w in unchecked(f.annotation, list(f.metadata), f"{tp.__name__}.{name}", seen)
        ]
    if where in EXEMPT:
        return []
    if tp is str:
        return [] if _validators(meta) & TEXT_CHECKS else [f"{where} (str)"]
    if tp is date:
        return [] if _validators(meta) & DATE_CHECKS else [f"{where} (date)"]
    if tp is datetime:
        return [f"{where} (datetime)"]
    if tp in (int, float, bool):
        return [] if any(isinstance(m, Strict) and m.strict for m in meta) else [f"{where} ({tp.__name__})"]
    return []


def body_models(routes: list[Any]) -> dict[str, Any]:
    """Request body types by operation, through included routers too."""
    out = {}
    for route in routes:
        if isinstance(route, APIRoute):
            for p in route.dependant.body_params:
                out[f"{sorted(route.methods)[0]} {route.path}"] = p.field_info.annotation
        elif hasattr(route, "original_router"):  # FastAPI's included router
            out.update(body_models(route.original_router.routes))
    return out


@pytest.mark.parametrize("name", list(SERVICES))
def test_every_body_field_uses_the_shared_checks(name: str, tmp_path: Path) -> None:
    service = spec(name)
    url = migrated(service.migrations, f"sqlite:///{tmp_path}/{service.package}.db")
    app = service.create_app(service.settings(database_url=url), run_consumer=False)
    bodies = body_models(app.routes)
    assert bodies, f"{name} takes no request body"
    seen: set[type] = set()
    escaped = sorted({w for op, tp in bodies.items() for w in unchecked(tp, [], op, seen)})
    assert escaped == []


def test_the_walk_finds_what_escapes() -> None:
    class Loose(BaseModel):
        name: str
        when: date
        n: int
        flag: bool | None = None
        level: Literal[1, 2]
        tags: list[str] = []

    class Tight(BaseModel):
        name: fields.Line
        when: fields.PastDate
        n: Annotated[int, Strict()]
        level: Annotated[Literal[1, 2], fields.IntChoice]
        tags: list[fields.Text] = []

    assert unchecked(Tight, [], "Tight", set()) == []
    assert unchecked(Loose, [], "Loose", set()) == [
        "Loose.name (str)",
        "Loose.when (date)",
        "Loose.n (int)",
        "Loose.flag (bool)",
        "Loose.level (Literal of integers without IntChoice)",
        "Loose.tags[] (str)",
    ]
