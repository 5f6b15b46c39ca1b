"""Field types every service's input schemas share: text without control characters, dates in a
plausible range, and choices a bool cannot pass for. Each refusal has its own machine-readable code,
which `hhpu_shared.errors` puts in the problem+json `errors` list of a 422.

Text
- `Line`: a name, title, label or identifier: one line. Refused with `control_character`: every
  control character (Unicode Cc: U+0000-U+001F and U+007F-U+009F, tab and newline included), the
  line and paragraph separators U+2028/U+2029, and the bidirectional embedding, override and
  isolate controls (U+202A-U+202E, U+2066-U+2069), which make a name display as another.
- `Text`: free text that may run over several lines (notes, reasons, minutes): tab, LF and CR are
  allowed; every other control character (NUL above all) is refused with `control_character`.
- Both refuse lone surrogates (`invalid_character`): they are not text, and PostgreSQL cannot store them.

Dates (the bounds are defined here and only here; "today" is the unit's date, Europe/London)
- `BirthDate`: `EARLIEST_BIRTH` (1900-01-01) to today.
- `PastDate`: a day something happened or a point of view (a ranking's `as_of`, a risk assessment,
  a completed course): `EARLIEST_RECORD` (1970-01-01) to today.
- `PlanDate`: a day in a plan or a record of one (meetings, due dates, reviews, expiries,
  interventions): from `PLAN_YEARS_BACK` (10) years before today to `PLAN_YEARS_AHEAD` (5) after.
Codes: `date_too_early`, `date_in_future` (a past date after today), `date_too_late` (a plan too far ahead).

Numbers: input schemas use pydantic's `StrictInt`, `StrictFloat` and `StrictBool`, so `true` or
`"5"` never passes for a number (code `not_an_integer` / `not_a_number`) nor `"yes"` for a bool;
`IntChoice` does the same for a `Literal` of integers, which pydantic otherwise matches with `true`.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

from hhpu_shared.clock import today

EARLIEST_BIRTH = date(1900, 1, 1)
EARLIEST_RECORD = date(1970, 1, 1)
PLAN_YEARS_BACK = 10
PLAN_YEARS_AHEAD = 5

_LINE_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_TEXT_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _check(value: str, forbidden: re.Pattern[str]) -> str:
    bad = forbidden.search(value)
    if bad is not None:
        raise PydanticCustomError(
            "control_character",
            "control character {char} at position {position} is not allowed here",
            {"char": f"U+{ord(bad.group()):04X}", "position": bad.start()},
        )
    if _SURROGATE.search(value) is not None:
        raise PydanticCustomError("invalid_character", "the text holds a lone surrogate, which is not text")
    return value


def check_line(value: str) -> str:
    """`value` if it is one line of text free of control characters (see the module docstring)."""
    return _check(value, _LINE_FORBIDDEN)


def check_text(value: str) -> str:
    """`value` if it is free text whose only control characters are tab, LF and CR."""
    return _check(value, _TEXT_FORBIDDEN)


LineCheck = AfterValidator(check_line)
TextCheck = AfterValidator(check_text)
# `name: Line = Field(max_length=100)`. With StringConstraints, put the check after them,
# `Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), LineCheck]`: constraints
# that follow a validator run after it, so a stripped blank would pass `min_length` first.
Line = Annotated[str, LineCheck]
Text = Annotated[str, TextCheck]


def _years_from(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28)


def _too_early(earliest: date) -> PydanticCustomError:
    return PydanticCustomError(
        "date_too_early", "the date is before {earliest}", {"earliest": earliest.isoformat()}
    )


def check_birth_date(value: date) -> date:
    if value < EARLIEST_BIRTH:
        raise _too_early(EARLIEST_BIRTH)
    if value > today():
        raise PydanticCustomError("date_in_future", "the date of birth is in the future")
    return value


def check_past_date(value: date) -> date:
    if value < EARLIEST_RECORD:
        raise _too_early(EARLIEST_RECORD)
    if value > today():
        raise PydanticCustomError("date_in_future", "the date is in the future")
    return value


def plan_window(day: date | None = None) -> tuple[date, date]:
    """The first and last day a `PlanDate` may take, as of `day` (default today)."""
    day = day or today()
    return _years_from(day, -PLAN_YEARS_BACK), _years_from(day, PLAN_YEARS_AHEAD)


def check_plan_date(value: date) -> date:
    first, last = plan_window()
    if value < first:
        raise _too_early(first)
    if value > last:
        raise PydanticCustomError("date_too_late", "the date is after {latest}", {"latest": last.isoformat()})
    return value


BirthDate = Annotated[date, AfterValidator(check_birth_date)]
PastDate = Annotated[date, AfterValidator(check_past_date)]
PlanDate = Annotated[date, AfterValidator(check_plan_date)]


def _exact_int(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PydanticCustomError("not_an_integer", "the value must be an integer")
    return value


# Before a `Literal[1, 2, ...]`: pydantic takes `true` for 1 and `1.0` for 1, even in strict mode.
IntChoice = BeforeValidator(_exact_int)
