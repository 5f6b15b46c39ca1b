"""The name-key revision keeps its own copy of the key rule, so replaying history gives the keys it
gave then. While the live rule is unchanged the two agree; when this test fails, the live rule
changed: add a revision that recomputes every known person's keys (and update this test)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from referral_api.domain.matching import PersonRecord, name_keys
from referral_api.migrations import MIGRATIONS

NAMES = [
    ("Dean", "Marsh", ()),
    ("Zoë", "O'Brien-Smith", ("Zoe Smyth", "Jonno")),
    ("Siobhán", "Ní Bhriain", ("S. Bryan",)),
    ("Ashley", "Smith Jones", ("Ash  Smith-Jones",)),
    ("J", "O\u2019Neill", ()),
    ("Łukasz", "Wiśniewski", ("Luke Wisniewski",)),
    ("Mohammed", "Al-Hassan", ("Muhammad Hassan", "Mo")),
    ("", "Nobody", ()),
    ("Anne-Marie", "Ashcroft", ("Tymczak",)),
]


def test_the_name_key_revision_is_independent_of_the_live_code() -> None:
    path = MIGRATIONS.script.get_revision("bf49e80e4e2c").path
    imported = set()
    for node in ast.walk(ast.parse(Path(path).read_text())):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    assert imported and not any(m.startswith("referral_api") for m in imported), imported


@pytest.mark.parametrize(("given", "family", "aliases"), NAMES)
def test_the_frozen_keys_agree_with_todays_rule(given: str, family: str, aliases: tuple[str, ...]) -> None:
    module = MIGRATIONS.script.get_revision("bf49e80e4e2c").module
    live = name_keys(PersonRecord(given, family, aliases=aliases))
    assert module.name_keys(given, family, aliases) == live
