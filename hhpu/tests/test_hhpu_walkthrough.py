"""docs/walkthrough.md, read without running it: every `hhpu` command it shows is one the command
line accepts, and every API call it makes (`api ROLE`, `partner AGENCY` or curl) is routed by the
gateway and allowed for the role whose token it uses. (test_hhpu_walkthrough_runs.py runs it.)"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from gateway.routes import resolve
from hhpu.cli import parser

from gateway import policy

DOC = Path(__file__).resolve().parents[2] / "docs" / "walkthrough.md"
HELPERS = DOC.parent / "walkthrough-helpers.sh"
BLOCKS = re.findall(r"```bash\n(.*?)```", DOC.read_text(), re.S)
LINES = [
    ln.split("  #")[0].strip() for b in BLOCKS for ln in b.replace("\\\n", " ").splitlines() if ln.strip()
]


def _hhpu(line: str) -> str | None:
    """The `hhpu` command in a line (also inside `$(...)` or before a pipe), values as placeholders."""
    if ".venv/bin/hhpu " not in line:
        return None
    rest = line.split(".venv/bin/hhpu ", 1)[1]
    rest = re.sub(r"\$\([^()]*\)", "x1", rest)  # $(date ...) and the like
    rest = re.split(r"[|)]", rest)[0]
    return re.sub(r"\$\{?\w+\}?", "x1", rest).strip()


HHPU = [cmd for ln in LINES if (cmd := _hhpu(ln)) is not None]
CALLS = [ln for ln in LINES if "$API/" in ln]


def test_the_walkthrough_covers_every_journey() -> None:
    text = DOC.read_text()
    for n in range(1, 6):
        assert f"(journey {n})" in text, n
    assert len(HHPU) >= 15 and len(CALLS) >= 30


def test_the_helpers_the_walkthrough_uses_are_defined() -> None:
    defined = set(re.findall(r"^(\w+)\(\) \{", HELPERS.read_text(), re.M))
    assert defined == {"tok", "key", "aid", "api", "partner", "rows", "pick", "poll"}
    assert "source docs/walkthrough-helpers.sh" in BLOCKS[1]


@pytest.mark.parametrize("command", HHPU)
def test_walkthrough_hhpu_command_parses(command: str) -> None:
    argv = shlex.split(command)
    if argv == ["--help"]:
        with pytest.raises(SystemExit) as done:
            parser().parse_args(argv)
        assert done.value.code == 0
        return
    args = parser().parse_args(argv)
    assert callable(args.fn)


@pytest.mark.parametrize("line", CALLS)
def test_walkthrough_api_call_is_routed_and_allowed(line: str) -> None:
    path = re.search(r"\$API(/[^\s\"'?]+)", line)
    assert path is not None
    concrete = "/api/v1" + re.sub(r"\$\w+|<[^>]+>", "x1", path.group(1))
    assert resolve(concrete) is not None, concrete
    method = m.group(1) if (m := re.search(r" -X (\w+)", line)) else "GET"
    role = re.search(r"\b(?:api|tok) (\w+)", line)
    partner = re.search(r"\bpartner \w+|X-API-Key", line)
    assert role or partner, line
    roles = frozenset({role.group(1)}) if role else frozenset({policy.P})  # a partner's API key
    ok, _template = policy.allowed(method, concrete, roles)
    assert ok, (method, concrete, roles)
