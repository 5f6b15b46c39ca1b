"""The scoring models and the harm weight editions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from hhpu_shared.errors import NotFound
from hhpu_shared.http import Page, PageDep

from ranking_service.domain.catalog import CATALOG, DESCRIPTIONS, resolve
from ranking_service.domain.weights import available_editions, load_edition
from ranking_service.routes.common import Reader, SettingsDep
from ranking_service.schemas_analysis import EditionName, ModelPublic, WeightEdition

router = APIRouter(tags=["ranking"])


@router.get("/models", response_model=Page[ModelPublic])
def list_models(_: Reader, page: PageDep) -> Page[ModelPublic]:
    """The versioned scoring models, what each does and its parameters."""
    rows = [
        ModelPublic(ref=ref, algorithm=m.get("algorithm"), description=DESCRIPTIONS.get(ref), params=m)
        for ref in CATALOG
        for m in [resolve(ref).model_dump()]
    ]
    return Page.of(rows[page.offset : page.offset + page.limit], len(rows), page)


@router.get("/weight-editions", response_model=Page[EditionName])
def list_editions(settings: SettingsDep, _: Reader, page: PageDep) -> Page[EditionName]:
    """Harm weight editions available (Cambridge Crime Harm Index and other weight sets)."""
    names = available_editions(settings.weights_dir)
    rows = [EditionName(edition=n) for n in names[page.offset : page.offset + page.limit]]
    return Page.of(rows, len(names), page)


@router.get("/weight-editions/{edition}", response_model=WeightEdition)
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
