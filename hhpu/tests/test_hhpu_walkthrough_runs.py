"""docs/walkthrough.md, executed as a reader would: `make run` in one terminal, then every ```bash
block in order in another, in one bash process (the variables a block sets carry over) with
`set -euo pipefail`, every call through curl's --fail-with-body (the page's `api` and `partner`
helpers) or checked for its status. Each journey's key result must show in its section's output.

The system is a fresh `make run` on a private port, in a private view of the repository: a
directory of symlinks to the repository's files, so `.run/demo` and everything the walkthrough
writes (PDFs, the chart, the synthetic force) stay in the test's directory. Blocks that run until
Ctrl-C (`make run`, the webhook receiver) start in the background, are waited for and are stopped by
process group at the end. The README's quick start is checked on the same system: the banner,
`/docs`, `/redoc` and `hhpu --help`.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest
from hhpu.distributed import free_port
from hhpu.testing import eventually
from hhpu_shared.testing.documents import pdf_text

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "walkthrough.md"
# blocks that run until stopped (by how they start), and what each prints once it is up
LONG_RUNNING = {"make run": "API docs", ".venv/bin/hhpu webhook-receiver ": "listening on"}
MAKE_RUN_S = 360  # bounded waits (seeding the demo force takes about a minute on an idle machine)
WALKTHROUGH_S = 480


class Block(NamedTuple):
    section: str
    code: str

    @property
    def long_running(self) -> str | None:
        start = self.code.strip()
        return next((ready for cmd, ready in LONG_RUNNING.items() if start.startswith(cmd)), None)


def blocks() -> list[Block]:
    """The page's ```bash blocks in order, each with the heading of its section."""
    found: list[Block] = []
    section, code = "", None
    for line in DOC.read_text().splitlines():
        if code is not None:
            if line == "```":
                found.append(Block(section, "\n".join(code) + "\n"))
                code = None
            else:
                code.append(line)
        elif line == "```bash":
            code = []
        elif line.startswith("## "):
            section = line[3:]
    return found


class Background:
    """A long-running block in its own process group, its output in a file."""

    def __init__(self, code: str, cwd: Path, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                ["bash", "-c", "set -euo pipefail\n" + code],
                cwd=cwd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, text: str, timeout_s: float) -> None:
        def up() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"exited {self.proc.returncode}: {self.output()[-3000:]}")
            return text in self.output()

        eventually(up, timeout_s=timeout_s, what=f"{text!r} in {self.log.name}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


def repository_view(root: Path) -> Path:
    """A directory whose entries are symlinks to the repository's (not its `.run`)."""
    root.mkdir()
    for entry in REPO.iterdir():
        if entry.name not in {".run", ".git"}:
            (root / entry.name).symlink_to(entry)
    return root


@pytest.fixture
def background() -> Iterator[list[Background]]:
    started: list[Background] = []
    yield started
    for b in reversed(started):
        b.stop()


@pytest.mark.timeout(MAKE_RUN_S + WALKTHROUGH_S + 120)
def test_the_walkthrough_runs_as_written_on_a_fresh_demo(
    tmp_path: Path, background: list[Background]
) -> None:
    view = repository_view(tmp_path / "repo")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HHPU_") or k.startswith("HHPU_TEST_")}
    env.update(HHPU_PORT=str(port), TERM="dumb")
    url = f"http://127.0.0.1:{port}"
    steps = blocks()
    assert steps[0].code.strip() == "make run", "the walkthrough starts with `make run`"

    script = ["set -euo pipefail", "trap 'echo \"FAILED: $BASH_COMMAND\" >&2' ERR"]
    for n, block in enumerate(steps):
        ready = block.long_running
        if ready is None:
            script += [f'echo "@@@ {n} (${{SECONDS}}s)"', block.code]
            continue
        code = block.code.replace("--port 8099", f"--port {free_port()}")  # a free port, not the example's
        background.append(Background(code, view, env, tmp_path / f"background-{n}.log"))
        background[-1].wait_for(ready, MAKE_RUN_S)
        if n == 0:  # `make run`: seeded; ready once the seeded events are caught up with
            with httpx.Client(base_url=url, timeout=30) as c:
                eventually(lambda: c.get("/readyz").status_code == 200, timeout_s=120, what="ready")
            readme_quick_start(url, background[0].output(), view)

    out_file = tmp_path / "walkthrough.out"
    with out_file.open("wb") as out:
        proc = subprocess.Popen(
            ["bash", "-c", "\n".join(script)],
            cwd=view,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            proc.wait(WALKTHROUGH_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    output = out_file.read_text(errors="replace")
    assert proc.returncode == 0, f"the walkthrough stopped ({proc.returncode}):\n{output[-6000:]}"

    by_section: dict[str, str] = {}
    for chunk in output.split("@@@ ")[1:]:
        head, _, text = chunk.partition("\n")
        key = steps[int(head.split()[0])].section
        by_section[key] = by_section.get(key, "") + text
    check_journeys(by_section, view, background)


def readme_quick_start(url: str, banner: str, view: Path) -> None:
    """README: `make run` prints the address, the docs page and the demo credentials; the docs are
    served; `hhpu --help` says where the gateway is."""
    assert f"Gateway:   {url}" in banner and f"{url}/docs" in banner
    assert "Staff bearer tokens" in banner and "Partner API keys" in banner
    assert (view / ".run" / "demo" / "demo-credentials.json").exists()
    with httpx.Client(base_url=url, timeout=30) as c:
        assert "/docs" in c.get("/").text and "/redoc" in c.get("/").text
        docs = c.get("/docs")
        assert docs.status_code == 200 and "swagger-ui" in docs.text.lower()
        assert c.get("/redoc").status_code == 200
        assert "/api/v1/referrals" in c.get("/openapi.json").json()["paths"]
    helped = subprocess.run(
        [str(view / ".venv" / "bin" / "hhpu"), "--help"], capture_output=True, text=True, timeout=120
    )
    assert helped.returncode == 0 and "HHPU_URL" in helped.stdout and "HHPU_PORT" in helped.stdout


def section(by_section: dict[str, str], word: str) -> str:
    hits = [text for name, text in by_section.items() if word in name]
    assert len(hits) == 1, (word, list(by_section))
    return hits[0]


def check_journeys(by_section: dict[str, str], view: Path, background: list[Background]) -> None:
    files = view

    # journey 2: this fortnight's scheduled run and its eight candidates, Dean among them; the
    # back-test's chart; last fortnight's run reproduced identically
    j2 = section(by_section, "journey 2")
    assert re.search(r"production\s+scheduled\s+\S+\s+\S+\s+8\s+8\b", j2), j2[:2000]
    assert re.search(r"^3\s+P-DEAN-MARSH\b", j2, re.M)
    assert "Dean Marsh" in j2 and "people since" in j2  # the suitability report
    assert "image/png" in j2 and (files / "decile.png").read_bytes().startswith(b"\x89PNG")
    assert re.search(r"^run-\w+\s+True\s+True$", j2, re.M)

    # journey 1: one referral for two submissions; 404 for another agency; a probable match,
    # confirmed; under assessment, seen by polling and by the signed webhook; two triggers
    j1 = section(by_section, "journey 1")
    assert re.search(r"^idempotent-replayed: true", j1, re.M | re.I)
    assert re.search(r"^404$", j1, re.M)
    assert re.search(r"^probable\s+Jon\s+John\s+P-DEAN-MARSH\b", j1, re.M)
    assert re.search(r"^screened\s+under_assessment\s+assessment_opened$", j1, re.M)
    assert '"to_status": "under_assessment"' in j1 and '"signature_valid": true' in j1
    assert re.search(r"^open\s+high\s+ranking, referral\s", j1, re.M)

    # journey 3: an agenda that fits with Dean first; attendance; the decision; the case adopted
    # and allocated; accepted, webhook; actions carried and closed; the packs, housing's holding
    # only housing's share
    j3 = section(by_section, "journey 3")
    assert re.search(r"^64\s+64\s+120\s+False$", j3, re.M)
    assert re.search(r"^0\s+8\s+new_case\s+Dean Marsh\s+high$", j3, re.M)
    assert re.search(r"^in_progress\s+5\s+True$", j3, re.M)
    assert re.search(r"^decision\s+adopt\s+hhpu\s+DI Morgan Hale$", j3, re.M)
    assert '"to_status": "accepted"' in j3
    assert re.search(r"^managed\s+hhpu\s+suspect\s+unconvicted_suspect\s", j3, re.M)
    assert "lowest of 4 eligible manager(s)" in j3
    assert re.search(r"Children's services to share the strategy meeting outcome\s+\S+\s+1$", j3, re.M)
    assert re.search(
        r"^Probation to confirm licence conditions\s+not_possible\s+circumstances changed$", j3, re.M
    )
    assert re.search(r"^closed\s", j3, re.M)
    pack = pdf_text((files / "pack.pdf").read_bytes())
    assert "Dean Marsh" in pack and "OFFICIAL-SENSITIVE" in pack and "Probation to confirm" in pack
    for own in ("pack-housing.pdf", "housing-own-pack.pdf"):
        text = pdf_text((files / own).read_bytes())
        assert "Housing to confirm Dean Marsh" in text and "Probation to confirm" not in text, own
    # housing's own action list: the lines between the housing pack written and its own pack fetched
    own_list = j3.split("written pack-housing.pdf")[1].split("application/pdf")[0].splitlines()[2:]
    assert [r.split("  ")[0] for r in own_list] == [
        "Housing to confirm Kyle Benson's address",
        "Housing to confirm Dean Marsh's address",
    ], own_list

    # journey 4: the caseload; equity and rebalancing; RM2000, interventions, a note; the audit
    j4 = section(by_section, "journey 4")
    assert "PC Ann Lee: 11 cases (3 ViSOR, 2 very high risk)" in j4
    assert len(re.findall(r"^Police to apply for a domestic violence protecti", j4, re.M)) == 2  # + Dean's
    assert re.search(r"^PC Ann Lee\s+11\s", j4, re.M) and "moves" in j4
    assert re.search(r"^rm2000\s+\w+\s+\w+\s+\w+\s", j4, re.M)
    assert re.search(r"^home_address_check\s+disruptive\s+active$", j4, re.M)
    assert re.search(r"^accommodation_support\s+rehabilitative\s+active$", j4, re.M)
    assert re.search(r"^assessment\s+om-ann$", j4, re.M)
    assert "application/pdf" in j4 and pdf_text((files / "case-summary.pdf").read_bytes())
    assert re.search(r"(collect|consult)\s+om-ann\s.*why: walkthrough", j4)

    # journey 5: the evaluation report's figures, and its PDF
    j5 = section(by_section, "journey 5")
    assert "chi-square" in j5 and "MOSOVO coverage" in j5 and "ranking runs" in j5
    assert "chi-square" in pdf_text((files / "evaluation.pdf").read_bytes()).lower()

    # the command line
    cli = section(by_section, "command line")
    assert "HHPU_URL" in cli and "/redoc" in cli and "Neighbourhood Team" in cli
    assert "revoked at" in cli and "Spearman rho" in cli
    assert re.search(r"^duplicate: True$", cli, re.M)
    assert any("listening on" in b.output() for b in background[1:])
    # and the make run terminal printed every webhook delivery, signed
    assert "DAS-2026-0412: under_assessment -> accepted (adopted; signature ok)" in background[0].output()


def test_a_seeded_make_run_holds_the_ranking_schedule_only_while_it_seeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`hhpu run` (what `make run` starts) seeds a first start with the ranking's schedule held: on,
    but making no run while the demo is seeded (a scheduled run in the middle of seeding would
    propose the whole top bracket). Once seeded, the schedule says enabled and its worker runs.
    The seeding itself is stood in for (the real one is the walkthrough's, above)."""
    import asyncio
    import threading

    import uvicorn
    from hhpu.demo import DemoCredentials, staff_tokens
    from ranking_service import workers

    from hhpu import single

    monkeypatch.setenv("HHPU_ENVIRONMENT", "development")  # as the hhpu command sets it
    servers: list[uvicorn.Server] = []

    class Recorded(uvicorn.Server):
        def __init__(self, config: uvicorn.Config) -> None:
            super().__init__(config)
            servers.append(self)

    seen: dict[str, object] = {}

    def seed(system: object, client: httpx.Client, webhook_url: str | None = None) -> DemoCredentials:
        runtime = system.runtime("ranking-service")  # type: ignore[attr-defined]
        seen["held"] = workers.schedule_held(runtime)
        seen["made"] = workers.scheduled_runs(runtime)  # this period owes its run, but not while held
        seen["runtime"] = runtime
        return DemoCredentials(tokens=staff_tokens())

    monkeypatch.setattr(uvicorn, "Server", Recorded)
    monkeypatch.setattr(single, "seed", seed)
    monkeypatch.setattr(single, "_receiver", lambda *_: None)
    data_dir, port = tmp_path / "demo", free_port()
    analyst = {"Authorization": f"Bearer {staff_tokens()['analyst']}", "X-Justification": "test"}

    def schedule_loop_alive() -> bool:
        loop = "ranking-service-ranking-schedule"  # the SCHEDULE worker's thread in this runtime
        return any(t.name == loop and t.is_alive() for t in threading.enumerate())

    async def serve_and_look() -> tuple[dict, bool]:
        task = asyncio.create_task(single._serve("127.0.0.1", port, data_dir, True))
        try:
            for _ in range(1200):  # bounded: two minutes
                if (data_dir / "demo-credentials.json").exists() or task.done():
                    break
                await asyncio.sleep(0.1)
            assert not task.done(), task.result()
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
                r = await c.get("/api/v1/ranking-runs/schedule", headers=analyst)
            assert r.status_code == 200, r.text
            return dict(r.json()), schedule_loop_alive()
        finally:
            servers[-1].should_exit = True
            await asyncio.wait_for(task, 60)

    status, looping = asyncio.run(serve_and_look())
    assert seen["held"] is True and seen["made"] == []
    assert not workers.schedule_held(seen["runtime"])  # type: ignore[arg-type]
    # The period still owes its run: "due" in its first six hours (schedule_overdue_after_s), "overdue" after.
    period = status["current_period"]
    assert status["enabled"] is True and period["production_run_id"] is None
    assert period["status"] == ("overdue" if status["overdue"] else "due")
    assert looping and not schedule_loop_alive()  # it ran while served, and stopped with the server
