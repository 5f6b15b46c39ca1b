"""Vectorised validation of import batches: each bad row gets its row number and reasons.

A batch comes in as a pyarrow RecordBatch of whatever types the file had; it leaves as a clean
batch in the canonical schema plus a list of rejections. Nothing is dropped silently: offence codes
are normalised first (``00801#Serious`` is ``008/01#serious``), and the codes of rows still rejected
for their code are counted as spelt, so that each run can report them (``Rejections.codes``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hhpu_shared.fields import EARLIEST_BIRTH

OUTCOMES = ("charged", "convicted", "cautioned", "no_further_action", "under_investigation")
CODE_RE = r"^\d{3}/\d{2}(#[a-z_]+)?$"
# The CCHI sheet's own spelling of a code without its slash (``00200``), which exports share.
SLASHLESS_RE, SLASHLESS_TO = r"^(\d{3})(\d{2})(#|$)", r"\1/\2\3"
REJECTED_CODE_CHARS = 24  # a rejected code is reported as spelt, cut to this length
TRUE = ("true", "1", "yes", "y", "t")
FALSE = ("false", "0", "no", "n", "f", "")

OFFENCE_SCHEMA = pa.schema(
    [
        ("person_id", pa.string()),
        ("offence_code", pa.string()),
        ("offence_date", pa.date32()),
        ("recorded_date", pa.date32()),
        ("outcome", pa.string()),
        ("domestic_abuse", pa.bool_()),
        ("hate_crime", pa.bool_()),
        ("victim_ref", pa.string()),
    ]
)
OFFENCE_REQUIRED = ("person_id", "offence_code", "offence_date", "recorded_date", "outcome")
PEOPLE_SCHEMA = pa.schema(
    [
        ("records_id", pa.string()),
        ("given_name", pa.string()),
        ("middle_names", pa.string()),
        ("family_name", pa.string()),
        ("date_of_birth", pa.date32()),
        ("sex", pa.string()),
        ("ethnicity", pa.string()),
        ("age_band", pa.string()),
    ]
)
PEOPLE_REQUIRED = ("records_id",)
# The characters hhpu_shared.fields refuses in one-line text (names, identifiers), in RE2 syntax.
CONTROL_RE = r"[\x00-\x1f\x7f-\x9f\x{2028}\x{2029}\x{202a}-\x{202e}\x{2066}-\x{2069}]"
# UTF-8 bytes that begin one of them: below 0x20, 0x7f, 0xc2 (U+0080-U+00BF), 0xe2 (U+2000-U+2FFF).
_CONTROL_LEAD = np.zeros(256, dtype=bool)
_CONTROL_LEAD[[*range(0x20), 0x7F, 0xC2, 0xE2]] = True
SEXES = {"m": "M", "male": "M", "f": "F", "female": "F", "x": "X", "u": "U", "unknown": "U", "": "U"}


@dataclass
class Rejections:
    rows: dict[int, list[dict[str, str]]] = field(default_factory=dict)
    codes: dict[str, int] = field(default_factory=dict)  # offence codes rejected, as spelt: rows

    def count_codes(self, codes: pa.Array, bad: np.ndarray) -> None:
        cut = pc.utf8_slice_codeunits(pc.filter(codes, pa.array(bad)), 0, REJECTED_CODE_CHARS)
        for vc in pc.value_counts(cut).to_pylist():
            self.codes[vc["values"]] = self.codes.get(vc["values"], 0) + vc["counts"]

    def add(self, row_numbers: np.ndarray, bad: np.ndarray, fld: str, code: str, msg: str) -> None:
        for r in row_numbers[bad].tolist():
            self.rows.setdefault(int(r), []).append({"field": fld, "code": code, "message": msg})


Checked = tuple[pa.RecordBatch, np.ndarray, Rejections]


def _str(col: pa.Array) -> pa.Array:
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        return pc.utf8_trim_whitespace(col.cast(pa.string()))
    if pa.types.is_null(col.type):
        return pa.nulls(len(col), pa.string())
    return pc.utf8_trim_whitespace(col.cast(pa.string()))


def _empty(col: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(pc.equal(pc.utf8_length(col), 0), True), dtype=bool)


def _control(col: pa.Array) -> np.ndarray:
    """Rows whose text holds a control character. The raw bytes are looked at first: printable ASCII
    only (min and max, well under a millisecond per million ids), or none of the bytes that begin a
    control character, and the regular expression is not run at all."""
    data = col.buffers()[2] if len(col) and pa.types.is_string(col.type) else None
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else None
    if (
        raw is None
        or not len(raw)
        or (raw.min() >= 0x20 and raw.max() < 0x7F)
        or not _CONTROL_LEAD[raw].any()
    ):
        return np.zeros(len(col), dtype=bool)
    return np.asarray(pc.fill_null(pc.match_substring_regex(col, CONTROL_RE), False), dtype=bool)


def normal_codes(codes: pa.Array) -> pa.Array:
    """Offence codes as the edition spells them: ``NNN/NN[#variant]``. The sheet's own ``NNNNN``
    gets its slash and a variant suffix is lower-cased (``00801#Serious`` is ``008/01#serious``)."""
    return pc.replace_substring_regex(pc.utf8_lower(codes), SLASHLESS_RE, SLASHLESS_TO)


def _date(col: pa.Array, nrows: int) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Parsed dates, a missing mask and an invalid mask."""
    if pa.types.is_date32(col.type):
        return col, np.asarray(col.is_null(), dtype=bool), np.zeros(nrows, dtype=bool)
    if pa.types.is_timestamp(col.type) or pa.types.is_date64(col.type):
        d = col.cast(pa.date32())
        return d, np.asarray(col.is_null(), dtype=bool), np.zeros(nrows, dtype=bool)
    s = _str(col)
    missing = _empty(s)
    ts = pc.strptime(s, format="%Y-%m-%d", unit="s", error_is_null=True)
    # strptime rolls impossible days over (2025-02-30 -> 2025-03-02): require a round trip
    same = np.asarray(pc.fill_null(pc.equal(pc.strftime(ts, format="%Y-%m-%d"), s), False), dtype=bool)
    parsed = pc.if_else(pa.array(same), ts, pa.scalar(None, ts.type)).cast(pa.date32())
    invalid = ~same & ~missing
    return parsed, missing, invalid


def _bool(col: pa.Array | None, nrows: int) -> tuple[pa.Array, np.ndarray]:
    if col is None:
        return pa.array(np.zeros(nrows, dtype=bool)), np.zeros(nrows, dtype=bool)
    if pa.types.is_boolean(col.type):
        return pc.fill_null(col, False), np.zeros(nrows, dtype=bool)
    s = pc.fill_null(pc.utf8_lower(_str(col)), "")
    yes = np.asarray(pc.is_in(s, pa.array(TRUE)), dtype=bool)
    no = np.asarray(pc.is_in(s, pa.array(FALSE)), dtype=bool)
    return pa.array(yes), ~(yes | no)


def _column(batch: pa.RecordBatch, name: str) -> pa.Array | None:
    i = batch.schema.get_field_index(name)
    return None if i < 0 else batch.column(i)


def validate_offences(batch: pa.RecordBatch, rows: np.ndarray, today: date) -> Checked:
    n = batch.num_rows
    rej = Rejections()
    cols: dict[str, pa.Array] = {}
    for name in ("person_id", "offence_code", "outcome"):
        c = _column(batch, name)
        s = _str(c) if c is not None else pa.nulls(n, pa.string())
        rej.add(rows, _empty(s), name, "required", f"{name} is required")
        cols[name] = s
    too_long = np.asarray(pc.fill_null(pc.greater(pc.utf8_length(cols["person_id"]), 64), False), dtype=bool)
    rej.add(rows, too_long, "person_id", "too_long", "person_id is longer than 64 characters")
    rej.add(
        rows,
        _control(cols["person_id"]),
        "person_id",
        "control_character",
        "person_id holds a control character",
    )
    spelt = cols["offence_code"]
    code = cols["offence_code"] = normal_codes(spelt)
    bad_code = ~np.asarray(pc.fill_null(pc.match_substring_regex(code, CODE_RE), False), dtype=bool)
    bad_code &= ~_empty(code)
    rej.add(rows, bad_code, "offence_code", "invalid_code", "not a Home Office code like 008/67")
    if bad_code.any():
        rej.count_codes(spelt, bad_code)
    outcome = pc.replace_substring(pc.utf8_lower(pc.fill_null(cols["outcome"], "")), " ", "_")
    bad_outcome = ~np.asarray(pc.is_in(outcome, pa.array(OUTCOMES)), dtype=bool) & ~_empty(cols["outcome"])
    rej.add(rows, bad_outcome, "outcome", "invalid_choice", "outcome must be one of " + ", ".join(OUTCOMES))
    cols["outcome"] = outcome
    limit = (today - date(1970, 1, 1)).days
    days = {}
    for name in ("offence_date", "recorded_date"):
        c = _column(batch, name)
        parsed, missing, invalid = _date(c if c is not None else pa.nulls(n, pa.string()), n)
        rej.add(rows, missing, name, "required", f"{name} is required")
        rej.add(rows, invalid, name, "invalid_date", f"{name} is not a date (YYYY-MM-DD)")
        d = np.asarray(pc.fill_null(parsed.cast(pa.int32()), -(10**6)), dtype=np.int64)
        rej.add(rows, d > limit, name, "future_date", f"{name} is in the future")
        cols[name] = parsed
        days[name] = np.where(missing | invalid, -(10**6), d)
    before = (days["recorded_date"] < days["offence_date"]) & (days["recorded_date"] > -(10**6))
    rej.add(rows, before, "recorded_date", "recorded_before_offence", "recorded before the offence date")
    for name in ("domestic_abuse", "hate_crime"):
        arr, bad = _bool(_column(batch, name), n)
        rej.add(rows, bad, name, "invalid_boolean", f"{name} must be true or false")
        cols[name] = arr
    v = _column(batch, "victim_ref")
    victim = _str(v) if v is not None else pa.nulls(n, pa.string())
    victim = pc.if_else(pa.array(_empty(victim)), pa.scalar(None, pa.string()), victim)
    long_v = np.asarray(pc.fill_null(pc.greater(pc.utf8_length(victim), 64), False), dtype=bool)
    rej.add(rows, long_v, "victim_ref", "too_long", "victim_ref is longer than 64 characters")
    rej.add(rows, _control(victim), "victim_ref", "control_character", "victim_ref holds a control character")
    cols["victim_ref"] = victim
    return _keep(cols, OFFENCE_SCHEMA, rows, rej)


def validate_people(batch: pa.RecordBatch, rows: np.ndarray, today: date) -> Checked:
    n = batch.num_rows
    rej = Rejections()
    cols: dict[str, pa.Array] = {}
    for name in ("records_id", "given_name", "middle_names", "family_name", "ethnicity", "age_band", "sex"):
        c = _column(batch, name)
        s = _str(c) if c is not None else pa.nulls(n, pa.string())
        if name == "records_id":
            rej.add(rows, _empty(s), name, "required", "records_id is required")
        limit = 64 if name in ("records_id", "ethnicity") else 200
        long_ = np.asarray(pc.fill_null(pc.greater(pc.utf8_length(s), limit), False), dtype=bool)
        rej.add(rows, long_, name, "too_long", f"{name} is longer than {limit} characters")
        rej.add(rows, _control(s), name, "control_character", f"{name} holds a control character")
        cols[name] = pc.if_else(pa.array(_empty(s)), pa.scalar(None, pa.string()), s)
    sex = pc.utf8_lower(pc.fill_null(cols["sex"], ""))
    bad = ~np.asarray(pc.is_in(sex, pa.array(list(SEXES))), dtype=bool)
    rej.add(rows, bad, "sex", "invalid_choice", "sex must be M, F, X or U")
    keys = pa.array(list(SEXES))
    cols["sex"] = pc.take(pa.array(list(SEXES.values())), pc.fill_null(pc.index_in(sex, keys), 0))
    c = _column(batch, "date_of_birth")
    parsed, _missing, invalid = _date(c if c is not None else pa.nulls(n, pa.string()), n)
    rej.add(rows, invalid, "date_of_birth", "invalid_date", "date_of_birth is not a date (YYYY-MM-DD)")
    d = np.asarray(pc.fill_null(parsed.cast(pa.int32()), 0), dtype=np.int64)
    rej.add(rows, d > (today - date(1970, 1, 1)).days, "date_of_birth", "future_date", "born in the future")
    early = (d < (EARLIEST_BIRTH - date(1970, 1, 1)).days) & ~np.asarray(parsed.is_null(), dtype=bool)
    rej.add(rows, early, "date_of_birth", "date_too_early", f"born before {EARLIEST_BIRTH.isoformat()}")
    cols["date_of_birth"] = parsed
    return _keep(cols, PEOPLE_SCHEMA, rows, rej)


def _keep(cols: dict[str, pa.Array], schema: pa.Schema, rows: np.ndarray, rej: Rejections) -> Checked:
    bad = np.isin(rows, np.fromiter(rej.rows.keys(), dtype=np.int64, count=len(rej.rows)))
    mask = pa.array(~bad)
    arrays = [pc.filter(cols[f.name], mask).cast(f.type) for f in schema]
    return pa.RecordBatch.from_arrays(arrays, schema=schema), rows[~bad], rej


def missing_columns(names: list[str], kind: str) -> list[str]:
    required = OFFENCE_REQUIRED if kind == "offences" else PEOPLE_REQUIRED
    return [c for c in required if c not in names]
