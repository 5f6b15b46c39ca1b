"""Who may call what, and the service's settings (read from the runtime)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query
from hhpu_shared.auth import Principal, Role
from hhpu_shared.http import require_roles, settings_of

from ranking_service.settings import RankingSettings

RUNNERS = (Role.ANALYST, Role.UNIT_SUPERVISOR)
READERS = (*RUNNERS, Role.OFFENDER_MANAGER)
IMPORTERS = (Role.ANALYST, Role.ADMINISTRATOR)
Runner = Annotated[Principal, Depends(require_roles(*RUNNERS))]
Reader = Annotated[Principal, Depends(require_roles(*READERS))]
Importer = Annotated[Principal, Depends(require_roles(*IMPORTERS))]
RunKind = Annotated[str, Query(pattern="^(production|shadow)$")]


SettingsDep = Annotated[RankingSettings, Depends(settings_of(RankingSettings))]
