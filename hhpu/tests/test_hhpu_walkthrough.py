"""docs/walkthrough.md: every `hhpu` command it shows is one the command line accepts, and every
API path it calls is routed by the gateway and allowed for the role whose token it uses."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from gateway.routes import resolve
from hhpu.cli import parser

from gateway import policy

DOC = Path(__file__).resolve().parents[2] / "docs" / "walkthrough.md"
BLOCKS = re.findall(r"```bash\n(.*?)```", DOC.read_text(), re.S)
LINES = [
    ln.split("  #")[0].strip() for b in BLOCKS for ln in b.replace("\\\n", " ").splitlines() if ln.strip()
]
HHPU = [ln for ln in LINES if ln.startswith(".venv/bin/hhpu ")]
CURLS = [ln for ln in LINES if ln.startswith("curl ") and "$API/" in ln]
ROLE = {"P": policy.P}


def test_the_walkthrough_covers_every_journey() -> None:
    text = DOC.read_text()
    for n in range(1, 6):
        assert f"(journey {n})" in text or f"journeys {n}" in text, n
    assert len(HHPU) >= 15 and len(CURLS) >= 10


@pytest.mark.parametrize("line", HHPU)
def test_walkthrough_hhpu_command_parses(line: str) -> None:
    argv = shlex.split(re.sub(r"<[^>]+>", "x1", line))[1:]
    if argv == ["--help"]:
        with pytest.raises(SystemExit) as done:
            parser().parse_args(argv)
        assert done.value.code == 0
        return
    args = parser().parse_args(argv)
    assert callable(args.fn)


@pytest.mark.parametrize("line", CURLS)
def test_walkthrough_curl_path_is_routed_and_allowed(line: str) -> None:
    path = re.search(r"\$API(/[^\s\"?]+)", line)
    assert path is not None
    concrete = "/api/v1" + re.sub(r"\$[A-Z]+|<[^>]+>", "x1", path.group(1))
    assert resolve(concrete) is not None, concrete
    method = "POST" if " -X POST" in line else "GET"
    role = re.search(r"tok (\w+)", line)
    roles = frozenset({role.group(1)}) if role else frozenset({policy.P})  # a partner's X-API-Key
    ok, _template = policy.allowed(method, concrete, roles)
    assert ok, (method, concrete, roles)
