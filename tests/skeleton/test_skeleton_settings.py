"""Routes reach the settings one way: the runtime's, through hhpu_shared.http.settings_of."""

from __future__ import annotations

import asyncio
import importlib
from typing import Any, get_args

import pytest
from fastapi.params import Depends
from hhpu.services import SERVICES, spec
from hhpu_shared.http import settings_of
from starlette.requests import Request

DEPS = {
    "referral-api": "SettingsDep",
    "ranking-service": "SettingsDep",
    "case-service": "CaseSettingsDep",
    "meeting-service": "SettingsDep",
}


def _request(settings: Any) -> Request:
    class App:
        class state:  # noqa: N801 - the shape of app.state
            runtime = type("Runtime", (), {"settings": settings})()

    return Request({"type": "http", "app": App()})


def _resolve(dependency: Any, request: Request) -> Any:
    """What FastAPI does with the dependency: call it, and await it (it does no I/O, so it is async:
    no trip through the worker-thread pool)."""
    return asyncio.run(dependency(request))


@pytest.mark.parametrize("name", list(SERVICES))
def test_every_service_gets_its_settings_from_the_runtime_through_one_dependency(name: str) -> None:
    service = spec(name)
    common = importlib.import_module(f"{service.package}.routes.common")
    settings_type, depends = get_args(getattr(common, DEPS[name]))
    assert settings_type is service.settings_cls and isinstance(depends, Depends)
    dependency = depends.dependency
    assert dependency is not None and dependency.__qualname__.startswith(settings_of.__name__)
    settings = service.settings_cls.model_construct()
    assert _resolve(dependency, _request(settings)) is settings
    with pytest.raises(TypeError, match=service.settings_cls.__name__):
        _resolve(dependency, _request(object()))
