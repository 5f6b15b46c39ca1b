"""The `hhpu` command line, for the people who run the unit.

    hhpu run                           the whole system in one process, demo data on first start
    hhpu open [--browser]              the interactive API docs' address (/docs, /redoc)
    hhpu seed | migrate                seed the demo force; upgrade every service's database
    hhpu token --role analyst          mint a development staff token
    hhpu agency create NAME TYPE       create a partner agency and print its API key (shown once)
    hhpu agency list                   the partner agencies
    hhpu agency keys list|rotate|revoke AGENCY [KEY]   an agency's API keys
    hhpu import FILE                   import offence records or people, with a progress bar
    hhpu rank [--evaluate]             start a ranking run and summarise it (and its back-test)
    hhpu report suitability|evaluation [--html|--pdf] [-o FILE]   the printable reports
    hhpu meeting-pack ID [--pdf] [--recipient AGENCY]             a meeting's pack
    hhpu caseload                      my caseload and my open meeting actions (offender managers)
    hhpu webhook-receiver              print the webhook deliveries a partner would receive
    hhpu dlt list|show|replay          dead-lettered events: list, inspect, replay
    hhpu audit --person REF --why ...  who consulted, disclosed or changed a person's data, across services
    hhpu sar REF --why ...             subject access: everything every service holds on a person
    hhpu reviews --why ...             the MoPI review queue (people due for review, by group)
    hhpu review PERSON retain|dispose --reason-code ... --reason ... --why ...   a MoPI review decision

Output is a readable table or summary; add --json for the raw JSON, for scripts. Long work
(rank, import, report evaluation) shows a progress bar on standard error when it is a terminal
(--progress: always; never with --json).

Where the gateway is: commands that talk to the system use --url, else HHPU_URL, else
http://127.0.0.1:$HHPU_PORT (HHPU_PORT is the port `make run` / `hhpu run` serves on, default
8000). Who you are: --token, else HHPU_TOKEN, else a development token for --role (demo only).
Every call goes through the gateway's authentication, roles and audit trail like any other.
"""

from __future__ import annotations

import argparse

from hhpu.cli import core, protection, work


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="hhpu", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    core.add(sub)
    work.add(sub)
    protection.add(sub)
    from hhpu.dlt import add_parser as add_dlt
    from hhpu.webhook_receiver import add_parser as add_receiver

    add_dlt(sub)
    add_receiver(sub)
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    args.fn(args)


__all__ = ["main", "parser"]
