"""`hhpu run`: serve the single-process system and seed demo data on first start."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from contextlib import ExitStack
from pathlib import Path

import httpx
import uvicorn
from gateway.server import uvicorn_options
from hhpu_shared.logging import configure_logging
from ranking_service.workers import hold_schedule

from hhpu.demo import DemoCredentials, seed
from hhpu.system import build_system
from hhpu.webhook_receiver import Receiver

BANNER = """
HHPU Platform (single-process mode: SQLite files in {data_dir}, in-process event bus)

  Gateway:   {url}
  API docs:  {url}/docs     (merged OpenAPI: {url}/openapi.json)
  Health:    {url}/healthz  {url}/readyz   metrics: {url}/metrics

Demo credentials (development only; also in {creds_file}):
  Staff bearer tokens (Authorization: Bearer <token>):
{tokens}
  Partner API keys (X-API-Key: <key>):
{keys}
{webhook}
Try:  .venv/bin/hhpu open        .venv/bin/hhpu caseload --url {url}
      curl -H "Authorization: Bearer $TOKEN" {url}/api/v1/referrals
"""


def _banner(url: str, data_dir: Path, creds: DemoCredentials, creds_file: Path) -> str:
    tokens = "\n".join(f"    {role:18} {tok}" for role, tok in creds.tokens.items())
    keys = "\n".join(f"    {kind:26} {key}" for kind, key in creds.agency_keys.items())
    hook = creds.webhook
    webhook = (
        f"Webhook receiver of the {hook['agency']} (journey 1): {hook['url']}\n"
        f"  each delivery is printed here as [webhook] ... and appended to {hook.get('log', '')}\n"
        if hook
        else ""
    )
    return BANNER.format(
        url=url, data_dir=data_dir, tokens=tokens, keys=keys, creds_file=creds_file, webhook=webhook
    )


def _receiver(data_dir: Path, creds_file: Path) -> Receiver | None:
    """The demo's webhook receiver on its own loopback port (the one saved at seeding, if any)."""
    port = int(os.environ.get("HHPU_WEBHOOK_PORT", "0"))
    secret = None
    if creds_file.exists():
        saved = DemoCredentials.load(creds_file).webhook
        if not saved:
            return None
        port, secret = int(saved["url"].rsplit(":", 1)[1].split("/")[0]), saved.get("secret")
    try:
        return Receiver(port, secret, data_dir / "webhooks.jsonl").start()
    except OSError:  # the port is taken: the demo runs without a receiver
        return None


# Written in a data directory holding no database before the demo is seeded into it, removed once the
# demo's credentials are saved: found without them, it shows a seeding was stopped half-way.
SEEDING_MARK = "demo-seeding"
_DEMO_FILES = ("*.db", "*.db-wal", "*.db-shm", "*.db-journal", "webhooks.jsonl", SEEDING_MARK)


def restart_interrupted_seeding(data_dir: Path, creds_file: Path) -> bool:
    """Remove a half-seeded demo (seeding again would be refused: its agencies exist) so the demo is
    seeded afresh. Only where the mark shows the data directory held nothing else; True if removed."""
    if creds_file.exists() or not (data_dir / SEEDING_MARK).exists():
        return False
    print(  # noqa: T201
        f"The demo's seeding in {data_dir} was stopped before it finished; seeding it again from the start.",
        file=sys.stderr,
        flush=True,
    )
    for pattern in _DEMO_FILES:
        for f in data_dir.glob(pattern):
            f.unlink()
    return True


def mark_seeding(data_dir: Path, creds_file: Path) -> Path | None:
    """The mark of a demo about to be seeded into an unused data directory (None otherwise)."""
    if creds_file.exists() or any(data_dir.glob("*.db")):
        return None
    data_dir.mkdir(parents=True, exist_ok=True)
    mark = data_dir / SEEDING_MARK
    mark.touch()
    return mark


async def _serve(
    host: str, port: int, data_dir: Path, do_seed: bool, *, exit_after_seed: bool = False
) -> None:
    creds_file = data_dir / "demo-credentials.json"
    mark = None
    if do_seed:
        restart_interrupted_seeding(data_dir, creds_file)
        mark = mark_seeding(data_dir, creds_file)
    system = build_system(data_dir)  # the ranking's fortnightly schedule on, as wherever deployed
    # While the demo is seeded the ranking's schedule is held (on, but making no run): a scheduled
    # run in the middle of seeding would propose the whole top bracket. The demo's own run of today
    # holds this fortnight's schedule key, so once released the schedule owes nothing until the next
    # fortnight, whose run it then makes by itself.
    held = ExitStack()
    if do_seed and not creds_file.exists():
        held.enter_context(hold_schedule(system.runtime("ranking-service")))
    server = uvicorn.Server(
        uvicorn.Config(
            system.gateway,
            host=host,
            port=port,
            log_level="warning",
            lifespan="on",
            # the gateway's head limits, head timeout and proxy rules, as in every deployment
            **uvicorn_options(system.gateway.settings),
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            held.close()
            task.result()
            return
        await asyncio.sleep(0.05)
    url = f"http://{host}:{port}"
    receiver = _receiver(data_dir, creds_file) if do_seed or creds_file.exists() else None
    if creds_file.exists():
        creds = DemoCredentials.load(creds_file)
        from hhpu.demo import staff_tokens

        creds.tokens = staff_tokens()
    elif do_seed:

        def _do() -> DemoCredentials:
            with httpx.Client(base_url=url, timeout=300) as client:
                return seed(system, client, webhook_url=receiver.url if receiver else None)

        with held:
            creds = await asyncio.to_thread(_do)
        if creds.webhook and receiver is not None:
            receiver.secret = creds.webhook["secret"]  # shown once, at registration
            creds.webhook["log"] = str(data_dir / "webhooks.jsonl")
        creds.save(creds_file)
        if mark is not None:
            mark.unlink(missing_ok=True)
    else:
        creds = DemoCredentials()
    if exit_after_seed:
        print(f"Demo force seeded in {data_dir}; credentials in {creds_file}. Serve it with `make run`.")  # noqa: T201
        server.should_exit = True
    else:
        print(_banner(url, data_dir, creds, creds_file), flush=True)  # noqa: T201
    await task


def run(*, host: str, port: int, data_dir: Path, seed: bool = True) -> None:
    configure_logging("hhpu", "WARNING")
    logging.getLogger("hhpu.access").setLevel(logging.WARNING)
    asyncio.run(_serve(host, port, data_dir, seed))


def seed_only(*, data_dir: Path) -> None:
    """Seed the demo force (on a private port), print the credentials and stop."""
    from hhpu.distributed import free_port

    port = free_port()
    configure_logging("hhpu", "WARNING")
    asyncio.run(_serve("127.0.0.1", port, data_dir, True, exit_after_seed=True))
