"""Root pytest configuration.

The suite runs with ``--import-mode=importlib``, which names a test module after its path
(``gateway/tests/test_x.py`` -> ``gateway.tests.test_x``) and creates empty parent modules that
are missing. The ``gateway/`` and ``hhpu/`` folders share their names with their packages, so
importing the real packages first keeps those empty modules from shadowing them.
"""

import gateway  # noqa: F401
import hhpu  # noqa: F401
