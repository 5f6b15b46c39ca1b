"""Tables of the ranking-service (prefix ``rank_``), on its own registry and MetaData (migrated by
``migrations/``)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hhpu_shared.migrations import service_registry
from sqlalchemy import BigInteger, Column, Float, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

REGISTRY = service_registry("ranking")


class Table(SQLModel, registry=REGISTRY):
    """Base of every ranking-service table."""


_BIG_ID = BigInteger().with_variant(Integer, "sqlite")


def _now() -> datetime:
    return datetime.now(UTC)


class RankImport(Table, table=True):
    """Import ledger: one row per imported file, keyed by its SHA-256 (re-import changes nothing)."""

    __tablename__ = "rank_import"
    __table_args__ = (UniqueConstraint("kind", "sha256", name="uq_rank_import_sha"),)

    seq: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    id: str = Field(max_length=40, unique=True, index=True)
    kind: str = Field(max_length=16)  # offences | people
    sha256: str = Field(max_length=64)
    filename: str = Field(max_length=255)
    format: str = Field(max_length=16)
    store: str = Field(max_length=16)
    path: str | None = Field(default=None, max_length=500)
    rows_total: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    # JSON {offence code as spelt: rows} of the rows rejected for their offence code
    rejected_codes: str = Field(default="{}", sa_column=Column(Text, nullable=False, server_default="{}"))
    max_recorded_date: date | None = None
    created_at: datetime = Field(default_factory=_now)
    created_by: str = Field(max_length=128)


class RankImportRejection(Table, table=True):
    __tablename__ = "rank_import_rejection"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    import_id: str = Field(max_length=40, index=True)
    row_number: int
    reasons: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of {field, code, message}


class RankOffence(Table, table=True):
    __tablename__ = "rank_offence"
    __table_args__ = (Index("ix_rank_offence_import_row", "import_seq", "row_no"),)

    id: int | None = Field(default=None, sa_column=Column(_BIG_ID, primary_key=True, autoincrement=True))
    import_seq: int
    row_no: int
    person_id: str = Field(max_length=64, index=True)
    offence_code: str = Field(max_length=32)
    offence_date: date
    recorded_date: date
    outcome: str = Field(max_length=32)
    domestic_abuse: bool = False
    hate_crime: bool = False
    victim_ref: str | None = Field(default=None, max_length=64)


class RankPerson(Table, table=True):
    """Demographics and names from the records system (for candidate events and fairness)."""

    __tablename__ = "rank_person"

    records_id: str = Field(primary_key=True, max_length=64)
    given_name: str | None = Field(default=None, max_length=100)
    middle_names: str | None = Field(default=None, max_length=200)
    family_name: str | None = Field(default=None, max_length=100)
    date_of_birth: date | None = None
    sex: str | None = Field(default=None, max_length=16)
    ethnicity: str | None = Field(default=None, max_length=64)
    age_band: str | None = Field(default=None, max_length=16)
    import_id: str = Field(max_length=40)
    updated_at: datetime = Field(default_factory=_now)


class RankRun(Table, table=True):
    __tablename__ = "rank_run"

    id: str = Field(primary_key=True, max_length=40)
    kind: str = Field(max_length=16, index=True)  # production | shadow | dry
    trigger: str = Field(max_length=16)  # scheduled | on_demand
    schedule_key: str | None = Field(default=None, max_length=64, unique=True)
    model: str = Field(max_length=64)
    model_version: str = Field(max_length=16)
    params: str = Field(sa_column=Column(Text, nullable=False))
    weight_edition: str = Field(max_length=64)
    weight_checksum: str = Field(max_length=64)
    engine_version: str = Field(default="", max_length=32)
    as_of: date = Field(index=True)
    import_ids: str = Field(sa_column=Column(Text, nullable=False))
    input_files: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON, people file too
    fingerprint: str = Field(max_length=64)
    people_fingerprint: str = Field(default="", max_length=64)
    rows_used: int = 0
    people_scored: int = 0
    top_n: int | None = None
    top_share: float | None = Field(default=None, sa_column=Column(Float))
    top_bracket_size: int = 0
    provisional: bool = False
    provisional_reasons: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    data_quality: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    fairness: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    comparison: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    previous_run_id: str | None = Field(default=None, max_length=40)
    candidates_emitted: int = 0
    created_at: datetime = Field(default_factory=_now, index=True)
    created_by: str = Field(max_length=128)


class RankRunEntry(Table, table=True):
    __tablename__ = "rank_run_entry"
    __table_args__ = (
        UniqueConstraint("run_id", "rank", name="uq_rank_entry_rank"),
        UniqueConstraint("run_id", "person_ref", name="uq_rank_entry_person"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    # No index of its own: the unique constraint's index starts with it (one less to write per row).
    run_id: str = Field(max_length=40)
    person_ref: str = Field(max_length=64, index=True)
    rank: int
    score: float = Field(sa_column=Column(Float, nullable=False))
    harm_total: float = Field(sa_column=Column(Float, nullable=False))
    offence_count: int
    in_top: bool = False
    provisional: bool = False
    components: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    contributions: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    candidate_event_id: str | None = Field(default=None, max_length=36)


class RankEvaluation(Table, table=True):
    __tablename__ = "rank_evaluation"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    run_id: str = Field(max_length=40, index=True)
    follow_up_days: int
    result: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=_now)
    created_by: str = Field(max_length=128)


class RankPersonStatus(Table, table=True):
    """What the case-service told us: managed (a case is open) or under assessment."""

    __tablename__ = "rank_person_status"

    records_id: str = Field(primary_key=True, max_length=64)
    managed: bool = False
    case_id: str | None = Field(default=None, max_length=64)
    open_assessment_id: str | None = Field(default=None, max_length=64)
    last_decision: str | None = Field(default=None, max_length=16)
    last_decided_at: datetime | None = None
    updated_at: datetime = Field(default_factory=_now)
