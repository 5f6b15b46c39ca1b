"""A process starts quickly: what slows every start (and every restart after a crash) is kept out.

- The environment `make install` builds carries compiled bytecode: uv writes none by default, and where
  PYTHONDONTWRITEBYTECODE is set (as on this project's machines) no process writes any, so each one
  compiled everything it imported again (9.5 s to import the case-service's consumer, 3 s now).
- A consumer process does not import scipy.stats (0.4 to 1.4 s): the case-service loads it only when
  the evaluation report asks for a p-value, the ranking-service when an analysis runs
  (``ranking_service.domain.scipy_stats``).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy


def test_the_installed_packages_carry_their_bytecode() -> None:
    package = Path(sqlalchemy.__file__).parent
    cache = importlib.util.cache_from_source(str(package / "engine" / "base.py"))
    assert Path(cache).is_file(), f"no bytecode for sqlalchemy ({cache}): `make install` compiles it"


@pytest.mark.parametrize("consumer", ["case_service.consumer", "ranking_service.consumer"])
def test_a_consumer_does_not_import_scipy_stats(consumer: str) -> None:
    probe = f"import sys, {consumer}; print('scipy.stats' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False"
