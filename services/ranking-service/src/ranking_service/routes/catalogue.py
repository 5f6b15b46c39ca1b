"""The scoring models and the harm weight editions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from hhpu_shared.errors import NotFound

from ranking_service.domain.catalog import CATALOG, DESCRIPTIONS, resolve
from ranking_service.domain.weights import available_editions, load_edition
from ranking_service.routes.common import Reader, SettingsDep

router = APIRouter(tags=["ranking"])


@router.get("/models")
def list_models(_: Reader) -> dict[str, Any]:
    """The versioned scoring models, what each does and its parameters."""
    return {
        "models": {ref: resolve(ref).model_dump() for ref in CATALOG},
        "descriptions": DESCRIPTIONS,
    }


@router.get("/weight-editions")
def list_editions(settings: SettingsDep, _: Reader) -> dict[str, Any]:
    """Harm weight editions available (Cambridge Crime Harm Index and other weight sets)."""
    return {"editions": available_editions(settings.weights_dir)}


@router.get("/weight-editions/{edition}")
def get_edition(edition: str, settings: SettingsDep, _: Reader) -> dict[str, Any]:
    """One edition: offence code -> days, label and high-harm domains. ``code#variant`` is one row of a
    class whose rows carry different scores; the plain code is the class's default row and lists the
    variants it stands for in ``default_of``. Source: the Cambridge Crime Harm Index 2020 Update."""
    try:
        ed = load_edition(edition, settings.weights_dir)
    except KeyError as exc:
        raise NotFound(f"no weight edition {edition}") from exc
    return {
        "edition": ed.edition,
        "name": ed.name,
        "source": ed.source,
        "checksum": ed.checksum,
        "fallback_days": ed.fallback_days,
        "serious_days": ed.serious_days,
        "weights": [e.__dict__ for e in ed.entries.values()],
    }
