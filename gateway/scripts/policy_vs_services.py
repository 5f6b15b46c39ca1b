"""Compare the gateway's policy table and routing with what the services themselves allow.

Prints every operation where the gateway and a service disagree, or where the gateway routes the path
to another service, marking those in the commented allow-list (``gateway.policy_check.ALLOWED``:
administrators pass the gateway by design where a service refuses them). Exits 1 when a difference is
not allowed or an allowance is stale, as ``tests/contracts/test_contracts_policy.py`` fails then.

    .venv/bin/python gateway/scripts/policy_vs_services.py
"""

from __future__ import annotations

import sys
import warnings

from gateway import policy_check


def main() -> int:
    warnings.filterwarnings("ignore")
    diffs = policy_check.differences(policy_check.probe())
    unexpected = 0
    for d in diffs:
        ok = policy_check.allowed(d)
        unexpected += not ok
        sys.stdout.write(f"{'allowed   ' if ok else 'UNEXPECTED'} {d.line()}\n")
    stale = sorted(policy_check.ALLOWED - {d.key for d in diffs if policy_check.allowed(d)})
    for key in stale:
        sys.stdout.write(f"STALE      allowance with no such difference: {key}\n")
    sys.stdout.write(f"{len(diffs)} differences, {unexpected} not allowed, {len(stale)} stale allowances\n")
    return 1 if unexpected or stale else 0


if __name__ == "__main__":
    sys.exit(main())
