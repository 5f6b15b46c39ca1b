"""Smoke test of single-process mode, started the way the README says (`make run`), running
flow 1 through the gateway with the demo credentials it prints and saves."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from hhpu.distributed import free_port
from hhpu.single import SEEDING_MARK, mark_seeding, restart_interrupted_seeding
from hhpu.testing import eventually

REPO = Path(__file__).resolve().parents[2]


def _seed(data_dir: Path) -> subprocess.CompletedProcess[str]:
    hhpu = str(REPO / ".venv" / "bin" / "hhpu")
    args = [hhpu, "seed", "--data-dir", str(data_dir)]
    return subprocess.run(args, capture_output=True, text=True, timeout=300)


def test_hhpu_seed_fills_a_data_directory_and_exits(tmp_path: Path) -> None:
    done = _seed(tmp_path / "d")
    assert done.returncode == 0, done.stderr[-2000:]
    creds_file = tmp_path / "d" / "demo-credentials.json"
    creds = json.loads(creds_file.read_text())
    assert set(creds["agency_keys"]) >= {"drug_and_alcohol_service", "childrens_services"}
    assert (tmp_path / "d" / "referral-api.db").exists() and (tmp_path / "d" / "ranking-service.db").exists()
    assert not (tmp_path / "d" / SEEDING_MARK).exists()  # removed once the credentials were saved

    # A seeding stopped half-way (Ctrl-C at first start) leaves its agencies without credentials:
    # seeding again over them was refused (409); the next start now seeds the demo afresh.
    creds_file.unlink()
    (tmp_path / "d" / SEEDING_MARK).touch()
    again = _seed(tmp_path / "d")
    assert again.returncode == 0, again.stderr[-2000:]
    assert "stopped before it finished" in again.stderr
    fresh = json.loads(creds_file.read_text())
    assert fresh["agency_keys"].keys() == creds["agency_keys"].keys()
    assert fresh["agency_keys"] != creds["agency_keys"]  # new agencies, new keys
    assert not (tmp_path / "d" / SEEDING_MARK).exists()


def test_a_data_directory_is_cleared_only_behind_the_seeding_mark(tmp_path: Path) -> None:
    data, creds = tmp_path / "d", tmp_path / "d" / "demo-credentials.json"
    data.mkdir()
    (data / "referral-api.db").write_text("x")
    (data / "notes.txt").write_text("kept")
    assert mark_seeding(data, creds) is None  # a database is there: not an unused directory
    assert not restart_interrupted_seeding(data, creds)  # no mark: nothing removed
    assert (data / "referral-api.db").exists()
    (data / SEEDING_MARK).touch()
    creds.write_text("{}")
    assert not restart_interrupted_seeding(data, creds)  # seeded to the end: nothing removed
    creds.unlink()
    assert restart_interrupted_seeding(data, creds)
    assert sorted(p.name for p in data.iterdir()) == ["notes.txt"]  # only the demo's own files go
    mark = mark_seeding(data, creds)
    assert mark is not None and mark.exists()


def test_make_run_serves_the_system_with_demo_data_and_flow_one_works(tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "demo"
    log = open(tmp_path / "run.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=REPO,
        env={**os.environ, "HHPU_PORT": str(port), "HHPU_DATA_DIR": str(data_dir)},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        creds_file = data_dir / "demo-credentials.json"

        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError((tmp_path / "run.log").read_text()[-4000:])
            return creds_file.exists() and "API docs" in (tmp_path / "run.log").read_text()

        eventually(ready, timeout_s=240, what="make run to seed and print its banner")
        banner = (tmp_path / "run.log").read_text()
        assert f"{url}/docs" in banner and "Partner API keys" in banner
        creds = json.loads(creds_file.read_text())
        with httpx.Client(base_url=url, timeout=30) as c:
            assert c.get("/healthz").status_code == 200
            # Ready once the seeded events are caught up with (a probe may time out meanwhile on a
            # busy machine: it answers 503 with Retry-After and comes back by itself).
            eventually(lambda: c.get("/readyz").status_code == 200, timeout_s=60, what="ready after seeding")
            assert c.get("/api/v1/referrals").status_code == 401
            docs = c.get("/openapi.json").json()
            assert any(p.startswith("/api/v1/referrals") for p in docs["paths"])
            assert any(p.startswith("/api/v1/meetings") for p in docs["paths"])

            # Flow 1 on the seeded force: Dean Marsh's referral from the drug and alcohol service.
            das = {"X-API-Key": creds["agency_keys"]["drug_and_alcohol_service"]}
            refs = c.get("/api/v1/referrals", headers=das).json()["items"]
            dean = [r for r in refs if r["partner_reference"] == "DAS-2026-0412"]
            assert len(dean) == 1
            rid = dean[0]["id"]
            other = {"X-API-Key": creds["agency_keys"]["childrens_services"]}
            assert c.get(f"/api/v1/referrals/{rid}", headers=other).status_code == 404

            def staff(role: str) -> dict[str, str]:
                return {
                    "Authorization": f"Bearer {creds['tokens'][role]}",
                    "X-Justification": "smoke test of journey 1",
                }

            # Journey 1: the ranking already knows Dean (middle name spelt differently), so a
            # probable match waits for a reviewer; nothing is merged before that.
            reviews = c.get("/api/v1/match-reviews", headers=staff("unit_supervisor")).json()["items"]
            mine = [r for r in reviews if r["referral_id"] == rid]
            assert len(mine) == 1 and mine[0]["grade"] == "probable"
            assert mine[0]["candidate"]["person_ref"] == "P-DEAN-MARSH"

            def status() -> str:
                return str(c.get(f"/api/v1/referrals/{rid}/status", headers=das).json()["status"])

            assert status() == "screened"
            ok = c.post(f"/api/v1/match-reviews/{mine[0]['id']}/confirm", headers=staff("unit_supervisor"))
            assert ok.status_code == 200, ok.text
            eventually(lambda: status() == "under_assessment", timeout_s=60, what="referral under assessment")

            # One assessment for Dean carries both triggers: the ranking's and the referral's.
            def dean_assessment() -> dict[str, Any] | None:
                page = c.get(
                    "/api/v1/assessments",
                    params={"status": "open", "limit": 100},
                    headers=staff("unit_supervisor"),
                ).json()
                hits = [a for a in page["items"] if any(t["ref"] == rid for t in a["triggers"])]
                return hits[0] if hits else None

            assessment = eventually(dean_assessment, timeout_s=60, what="Dean's assessment")
            assert {t["source"] for t in assessment["triggers"]} == {"ranking", "referral"}

            # The next monthly meeting has one item for that assessment; the chair records "adopt".
            chair = staff("meeting_chair")

            def item() -> tuple[str, str] | None:
                for m in c.get("/api/v1/meetings", headers=chair).json()["items"]:
                    agenda = c.get(f"/api/v1/meetings/{m['id']}/agenda", headers=chair).json()
                    items = agenda["kept"] + [d["item"] for d in agenda["to_defer"]]
                    hits = [i for i in items if i.get("assessment_id") == assessment["id"]]
                    if hits:
                        assert len(hits) == 1
                        return m["id"], hits[0]["id"]
                return None

            mid, iid = eventually(item, timeout_s=60, what="Dean's agenda item")
            r = c.post(
                f"/api/v1/meetings/{mid}/agenda/items/{iid}/outcomes",
                headers=chair,
                json={
                    "kind": "decision",
                    "decision": "adopt",
                    "decided_by": "DI Morgan Hale",
                    "cohort": "hhpu",
                },
            )
            assert r.status_code == 201, r.text
            eventually(lambda: status() == "accepted", timeout_s=60, what="referral accepted")

        # The command line, against the same running gateway.
        def hhpu(*args: str) -> str:
            done = subprocess.run(
                [str(REPO / ".venv" / "bin" / "hhpu"), *args],
                capture_output=True,
                text=True,
                timeout=300,
                env={**os.environ, "HHPU_URL": url},
            )
            assert done.returncode == 0, done.stderr[-2000:]
            return done.stdout

        assert hhpu("token", "--role", "analyst", "--sub", "cli-test").strip().count(".") == 2
        readable = hhpu("rank", "--kind", "shadow", "--model", "rfgv@1")
        assert "shadow" in readable and "people scored" in readable
        assert (
            json.loads(hhpu("rank", "--kind", "shadow", "--model", "rfgv@1", "--json"))["run"]["kind"]
            == "shadow"
        )
        year_ago = str(date.today() - timedelta(days=365))
        evaluated = hhpu(
            "rank", "--kind", "shadow", "--model", "total_harm@1", "--as-of", year_ago, "--evaluate", "--json"
        )
        assert '"spearman_harm"' in evaluated
        assert "<html" in hhpu("report", "suitability", "--html").lower()
        pack = hhpu("meeting-pack", mid)
        assert "<html" in pack.lower() and "Marsh" in pack
        assert "hhpu_" in hhpu("agency", "create", "Neighbourhood Team", "neighbourhood_policing")

        # Importing records through the gateway, with a progress bar; the same file twice changes nothing.
        from ranking_service.synthetic import generate, write_force

        today = date.today()
        force = generate(
            50, 400, seed=3, start=today - timedelta(days=900), split=today - timedelta(days=60), end=today
        )
        people_file, offences_file = write_force(force, tmp_path / "force")
        people = json.loads(hhpu("import", str(people_file), "--kind", "people", "--json"))
        assert people["rows_accepted"] == 50
        first = json.loads(hhpu("import", str(offences_file), "--json"))
        assert first["rows_accepted"] > 0 and first["duplicate"] is False
        assert json.loads(hhpu("import", str(offences_file), "--json"))["duplicate"] is True
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        log.close()
