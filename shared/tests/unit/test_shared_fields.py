"""The shared input field types: control characters, date bounds, strict numbers, and the problem+json
codes they produce through `hhpu_shared.errors`."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hhpu_shared import fields
from hhpu_shared.errors import install_error_handlers
from hhpu_shared.fields import BirthDate, IntChoice, Line, PastDate, PlanDate, Text
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, ValidationError


class Form(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Line | None = Field(default=None, max_length=20)
    note: Text | None = None
    aliases: list[Line] = []
    born: BirthDate | None = None
    as_of: PastDate | None = None
    due: PlanDate | None = None
    top_n: StrictInt | None = Field(default=None, ge=1)
    share: StrictFloat | None = None
    flag: StrictBool | None = None
    level: Annotated[Literal[1, 2, 3], IntChoice] | None = None


def codes(**data: object) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as exc:
        Form.model_validate(data)
    return [(".".join(map(str, e["loc"])), e["type"]) for e in exc.value.errors()]


LINE_REFUSED = ["Dean\x00", "\x00", "Dean\tMarsh", "Dean\nMarsh", "Dean\r", "a\x1bb", "a\x7f", "a\x85b"]
LINE_REFUSED += ["a\u2028b", "a\u202eb", "a\u2066b"]


@pytest.mark.parametrize("value", LINE_REFUSED)
def test_line_refuses_every_control_character(value: str) -> None:
    assert codes(name=value) == [("name", "control_character")]
    assert codes(aliases=["ok", value]) == [("aliases.1", "control_character")]


@pytest.mark.parametrize("value", ["a\x00b", "a\x07b", "a\x0bb", "a\x0cb", "a\x1fb", "a\x7fb", "a\x9fb"])
def test_text_refuses_control_characters_but_nul_above_all(value: str) -> None:
    assert codes(note=value) == [("note", "control_character")]


def test_text_keeps_tab_and_newlines_and_both_keep_real_names() -> None:
    note = "Line one.\n\tIndented.\r\nLast line."
    form = Form(note=note, name="Zoë O'Brien-Łukasz", aliases=["محمد", "Ngọc Anh", "李小龍"])
    assert form.note == note and form.aliases[0] == "محمد"
    assert Form(name="Dean Marsh").name == "Dean Marsh"


def test_lone_surrogate_is_not_text() -> None:
    assert codes(name="a\ud800b") == [("name", "invalid_character")]
    assert codes(note="a\udfffb") == [("note", "invalid_character")]


def test_message_names_the_character_and_where_not_the_value() -> None:
    with pytest.raises(ValidationError) as exc:
        Form(name="Dean\x00Marsh")
    msg = exc.value.errors()[0]["msg"]
    assert "U+0000" in msg and "position 4" in msg and "Dean" not in msg


def test_birth_dates() -> None:
    today = fields.today()
    assert Form(born=date(1900, 1, 1)).born == date(1900, 1, 1)
    assert Form(born=today).born == today
    assert codes(born="1899-12-31") == [("born", "date_too_early")]
    assert codes(born=str(today + timedelta(days=1))) == [("born", "date_in_future")]


def test_past_dates_refuse_year_176_and_tomorrow() -> None:
    today = fields.today()
    assert Form(as_of=today).as_of == today and Form(as_of="1970-01-01").as_of == fields.EARLIEST_RECORD
    assert codes(as_of="0176-05-01") == [("as_of", "date_too_early")]
    assert codes(as_of="1969-12-31") == [("as_of", "date_too_early")]
    assert codes(as_of=str(today + timedelta(days=1))) == [("as_of", "date_in_future")]


def test_plan_dates_stay_within_the_window() -> None:
    first, last = fields.plan_window()
    assert first == fields._years_from(fields.today(), -fields.PLAN_YEARS_BACK)
    assert Form(due=first).due == first and Form(due=last).due == last
    assert codes(due=str(first - timedelta(days=1))) == [("due", "date_too_early")]
    assert codes(due=str(last + timedelta(days=1))) == [("due", "date_too_late")]
    assert codes(due="9999-12-31") == [("due", "date_too_late")]
    assert fields.plan_window(date(2028, 2, 29)) == (date(2018, 2, 28), date(2033, 2, 28))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"top_n": True}, ("top_n", "int_type")),
        ({"top_n": "5"}, ("top_n", "int_type")),
        ({"top_n": 5.0}, ("top_n", "int_type")),
        ({"share": True}, ("share", "float_type")),
        ({"share": "0.5"}, ("share", "float_type")),
        ({"flag": "yes"}, ("flag", "bool_type")),
        ({"flag": 1}, ("flag", "bool_type")),
        ({"level": True}, ("level", "not_an_integer")),
        ({"level": 1.0}, ("level", "not_an_integer")),
        ({"level": "1"}, ("level", "not_an_integer")),
    ],
)
def test_strict_numbers_and_choices(data: dict[str, object], expected: tuple[str, str]) -> None:
    assert codes(**data) == [expected]


def test_strict_fields_still_take_the_right_types() -> None:
    form = Form(top_n=5, share=1, flag=False, level=2)
    assert (form.top_n, form.share, form.flag, form.level) == (5, 1.0, False, 2)


def test_problem_json_carries_the_field_codes() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/forms")
    def post(form: Form) -> dict[str, str]:
        return {"ok": "yes"}

    client = TestClient(app)
    body = {"name": "A\x00", "note": "x\x1b", "as_of": "0176-01-01", "top_n": True, "share": "1"}
    r = client.post("/forms", json=body | {"flag": "yes", "level": True, "due": "2999-01-01"})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    got = {e["field"]: e["code"] for e in r.json()["errors"]}
    assert got == {
        "name": "control_character",
        "note": "control_character",
        "as_of": "date_too_early",
        "top_n": "not_an_integer",
        "share": "not_a_number",
        "flag": "not_a_boolean",
        "level": "not_an_integer",
        "due": "date_too_late",
    }
    assert "\\u0000" not in r.text and "U+0000" in r.text  # the value is not echoed
    assert client.post("/forms", json={"name": "Dean", "note": "a\tb\nc"}).status_code == 200
