"""No import loop between the event registry and the contracts: each contract module, the registry
and the events package can be imported first, alone, in a fresh interpreter (an import loop shows
only in a process that happens to import one of them first)."""

from __future__ import annotations

import subprocess
import sys

import pytest

FIRST = [
    "hhpu_shared.events.contracts.common",
    "hhpu_shared.events.contracts.case",
    "hhpu_shared.events.contracts.meeting",
    "hhpu_shared.events.contracts.ranking",
    "hhpu_shared.events.contracts.referral",
    "hhpu_shared.events.contracts",
    "hhpu_shared.events.base",
    "hhpu_shared.events.registry",
    "hhpu_shared.events",
]
CHECK = (
    "import importlib, sys\n"
    "importlib.import_module(sys.argv[1])\n"
    "from hhpu_shared.events.registry import registered_events\n"
    "names = {s.name for s in registered_events()}\n"
    "assert {'referral.screened', 'assessment.opened', 'ranking.run_completed', 'action.created'} <= names\n"
    "print(len(names))\n"
)


@pytest.mark.parametrize("module", FIRST)
def test_a_contract_module_imported_first_loads_and_registers_every_event(module: str) -> None:
    done = subprocess.run([sys.executable, "-c", CHECK, module], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= 20
