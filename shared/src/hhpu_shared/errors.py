"""RFC 9457 problem+json for every error, with a machine-readable code per invalid field."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from hhpu_shared.context import request_id_var

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("hhpu.errors")

_PYDANTIC_CODES = {
    "missing": "required",
    "string_too_long": "too_long",
    "string_too_short": "too_short",
    "too_long": "too_many_items",
    "too_short": "too_few_items",
    "date_from_datetime_parsing": "invalid_date",
    "date_parsing": "invalid_date",
    "date_type": "invalid_date",
    "datetime_parsing": "invalid_datetime",
    "literal_error": "invalid_choice",
    "enum": "invalid_choice",
    "int_parsing": "not_an_integer",
    "int_type": "not_an_integer",
    "int_from_float": "not_an_integer",
    "float_parsing": "not_a_number",
    "float_type": "not_a_number",
    "bool_parsing": "not_a_boolean",
    "bool_type": "not_a_boolean",
    "string_type": "not_a_string",
    "string_unicode": "invalid_character",
    "list_type": "not_a_list",
    "dict_type": "not_an_object",
    "model_type": "not_an_object",
    "model_attributes_type": "not_an_object",
    "extra_forbidden": "unknown_field",
    "greater_than": "too_small",
    "greater_than_equal": "too_small",
    "less_than": "too_large",
    "less_than_equal": "too_large",
    "string_pattern_mismatch": "invalid_format",
    "json_invalid": "invalid_json",
    "uuid_parsing": "invalid_uuid",
    "value_error": "invalid_value",
}


class DomainError(Exception):
    """A business rule refused the request."""

    status = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(self, detail: str, *, code: str | None = None, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.extra = extra or {}


class NotFound(DomainError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(DomainError):
    status, code, title = 409, "conflict", "Conflict"


class Forbidden(DomainError):
    status, code, title = 403, "forbidden", "Forbidden"


class Unauthorized(DomainError):
    status, code, title = 401, "unauthenticated", "Unauthenticated"


class Unprocessable(DomainError):
    status, code, title = 422, "invalid_request", "Invalid request"


def field_error(field: str, code: str, message: str) -> dict[str, str]:
    return {"field": field, "code": code, "message": message}


def problem(
    status: int, title: str, detail: str | None, code: str, *, instance: str | None = None, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:hhpu:problem:{code}",
        "title": title,
        "status": status,
        "code": code,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    rid = request_id_var.get()
    if rid:
        body["request_id"] = rid
    body.update(extra)
    headers = {"Retry-After": str(extra["retry_after"])} if "retry_after" in extra else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _loc(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "body"


def validation_errors(exc: RequestValidationError | ValidationError) -> list[dict[str, str]]:
    """Per-field errors (field, code, message) of a request's validation, or of a model validated
    from a request's part."""
    out = []
    for e in exc.errors():
        code = _PYDANTIC_CODES.get(str(e.get("type")), str(e.get("type", "invalid")))
        ctx = e.get("ctx") or {}
        if e.get("type") == "value_error" and isinstance(ctx.get("error"), Exception):
            msg = str(ctx["error"])
            if msg.startswith("[") and "]" in msg:
                code, msg = msg[1 : msg.index("]")], msg[msg.index("]") + 1 :].strip()
        elif e.get("type") in ("too_long", "too_short") and isinstance(e.get("input"), str):
            # A length limit on a validated string type (hhpu_shared.fields.Line = Field(max_length=...)):
            # pydantic checks it as a generic length, but it is a string's.
            code = "too_long" if e["type"] == "too_long" else "too_short"
            bound = ctx.get("max_length", ctx.get("min_length"))
            msg = f"String should have at {'most' if code == 'too_long' else 'least'} {bound} characters"
        else:
            msg = str(e.get("msg", "invalid"))
        out.append(field_error(_loc(tuple(e.get("loc", ()))), code, msg))
    return out


def _allowed_methods(request: Request) -> str:
    """Every method some route takes at this path (Starlette names only the first route's)."""
    routes = request.app.router.routes
    allowed = []
    for method in ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in routes):
            allowed.append(method)
    return ", ".join(allowed)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem(
            422,
            "Invalid request",
            "The request did not pass validation; see errors.",
            "validation_failed",
            instance=request.url.path,
            errors=validation_errors(exc),
        )

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem(exc.status, exc.title, exc.detail, exc.code, instance=request.url.path, **exc.extra)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed", 401: "Unauthenticated", 403: "Forbidden"}
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated", 403: "forbidden"}
        response = problem(
            exc.status_code,
            titles.get(exc.status_code, "Error"),
            str(exc.detail) if exc.detail else None,
            code.get(exc.status_code, f"http_{exc.status_code}"),
            instance=request.url.path,
        )
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:
            response.headers["Allow"] = _allowed_methods(request) or response.headers.get("Allow", "")
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path_template": request.scope.get("route_path")})
        return problem(500, "Internal error", None, "internal_error", instance=request.url.path)


class ValidationProblem(Unprocessable):
    """A business validation with field errors, same shape as request validation."""

    code = "validation_failed"

    def __init__(
        self, errors: list[dict[str, str]], detail: str = "The request did not pass validation."
    ) -> None:
        super().__init__(detail, extra={"errors": errors})
