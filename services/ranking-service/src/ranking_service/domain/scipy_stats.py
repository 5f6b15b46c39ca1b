"""scipy.stats, loaded on first use rather than with the modules that use it.

It takes 0.4 to 1.4 s to import, and every ranking-service process (its consumer too) imports the
analysis modules through its routes, while only an analysis (comparison, evaluation, fairness,
trend, interval) uses it. The import runs once; later calls find it in ``sys.modules``.
"""

from __future__ import annotations

from typing import Any


def stats() -> Any:  # scipy carries no type information
    from scipy import stats as module

    return module
