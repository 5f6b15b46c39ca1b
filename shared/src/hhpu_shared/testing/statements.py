"""Record the SQL statements an engine runs, for statement-budget tests and profiles."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event


class Statements:
    """Every statement `engine` executes from now on, whitespace collapsed (an executemany counts once).

    ``with_begin=False`` leaves out SQLite's ``BEGIN (IMMEDIATE)``, which PostgreSQL does not send as
    a statement, so one budget holds on both databases.
    """

    def __init__(self, engine: Engine, *, with_begin: bool = True) -> None:
        self.statements: list[str] = []
        self.with_begin = with_begin
        event.listen(engine, "before_cursor_execute", self._add)

    def _add(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.with_begin or not statement.lstrip().upper().startswith("BEGIN"):
            self.statements.append(" ".join(statement.split()))

    def count(self, start: str) -> int:
        """How many statements start with `start` (case-insensitive)."""
        return sum(1 for s in self.statements if s.upper().startswith(start.upper()))

    def reads_of(self, table: str) -> int:
        """How many SELECTs read `table`."""
        return sum(s.startswith("SELECT") and f"FROM {table}" in s for s in self.statements)
