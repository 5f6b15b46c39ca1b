"""Root pytest configuration.

The suite runs with ``--import-mode=importlib``, which names a test module after its path
(``gateway/tests/test_x.py`` -> ``gateway.tests.test_x``) and creates empty parent modules that
are missing. Importing the real ``gateway`` package first keeps that empty module from shadowing it.
"""

import gateway  # noqa: F401
