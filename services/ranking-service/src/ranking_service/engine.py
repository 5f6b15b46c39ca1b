"""The engine version every run records: the package version plus a digest of the scoring sources.

``ENGINE_VERSION`` is ``<package version>+<12 hex digits>``: the first 12 hex digits of the SHA-256
of the sources that turn stored offence rows into a ranking (`ENGINE_SOURCES`, each file's path and
bytes), computed once at import. Any change to them (a new rank ordering, a new input preparation)
gives a new engine version, so `reproduce` tells a run computed by other code even when nobody bumped
the package version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from importlib import resources
from importlib.resources.abc import Traversable

from ranking_service import __version__

ENGINE_SOURCES: tuple[str, ...] = (
    "domain/catalog.py",  # model parameters
    "domain/grouping.py",  # rows clustered by person before scoring
    "domain/inputs.py",  # stored rows -> arrays (weights, domains, people)
    "domain/ordering.py",  # rank order and tie-break
    "domain/scoring.py",  # the models
    "domain/weights.py",  # editions, lookup, domain filter
    "service/compute.py",  # one computation: ordering, top bracket, data quality
)


def source_digest(root: Traversable | None = None, sources: Sequence[str] = ENGINE_SOURCES) -> str:
    """SHA-256 over each source's path and bytes, in the order given."""
    base = root if root is not None else resources.files("ranking_service")
    h = hashlib.sha256()
    for rel in sources:
        data = base.joinpath(*rel.split("/")).read_bytes()
        h.update(f"{rel}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def engine_version(root: Traversable | None = None) -> str:
    return f"{__version__}+{source_digest(root)[:12]}"


ENGINE_VERSION = engine_version()
