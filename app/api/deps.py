"""Typed dependency aliases: the services, the settings, the authenticated caller, and
request bodies read only after the caller is authenticated.

FastAPI parses a declared JSON body before any dependency runs, so a caller without a token
could learn the body's rules from the 422s. ``json_body(Model)`` reads and validates the body
inside a dependency that needs the caller first: without a valid token the answer is 401 and
nothing about the body. ``body_openapi(Model)`` documents the body as FastAPI would.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ValidationError

from app.auth import Caller, verify_token
from app.errors import Forbidden, Unauthorized
from app.limits import check_rate_limit
from app.services import Services

_bearer = HTTPBearer(auto_error=False)


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_caller(
    request: Request,
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """The verified caller. Raises ``Unauthorized`` (401) for a missing or bad token and
    ``RateLimited`` (429) when this subject has used up its requests for now."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("a bearer token is required")
    caller = verify_token(services.settings, credentials.credentials)
    check_rate_limit(request, caller.subject)
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]


def principal_required(*principals: str) -> Callable[[Caller], Caller]:
    """A dependency admitting callers that hold at least one of ``principals`` (else 403)."""

    def _check(caller: CallerDep) -> Caller:
        if not caller.all_principals.intersection(principals):
            raise Forbidden(f"this operation needs one of the principals {sorted(principals)}")
        return caller

    return _check


def require_principal(principal: str) -> Any:
    """``Depends`` form of ``principal_required`` for a single principal (kept for callers that
    use it as a parameter default)."""
    return Depends(principal_required(principal))


Model = TypeVar("Model", bound=BaseModel)

# Body models documented in OpenAPI's components (see ``add_body_schemas``).
BODY_MODELS: dict[str, type[BaseModel]] = {}


def json_body(
    model: type[Model], *, after: Callable[..., Caller] = get_caller, lone_surrogates: bool = False
) -> Callable[..., Awaitable[Model]]:
    """A dependency reading the request body as ``model`` once ``after`` (an authenticating
    dependency) has admitted the caller. Malformed JSON and invalid fields raise
    ``RequestValidationError`` (422, the one error shape).

    ``lone_surrogates=True`` parses with the standard library, which keeps ``"\\ud800"``
    escapes as lone surrogates for the model (a CMS push reports such a record on its own);
    otherwise such a string is malformed JSON.
    """

    async def read(request: Request, caller: Caller) -> Model:
        del caller  # only needed to have run
        raw = await request.body()
        try:
            if lone_surrogates:
                try:
                    data = json.loads(raw)
                except ValueError as exc:
                    raise RequestValidationError(
                        [{"loc": ("body",), "msg": f"the body is not valid JSON ({exc})"}]
                    ) from None
                except RecursionError:
                    raise RequestValidationError(
                        [{"loc": ("body",), "msg": "the body is nested too deeply"}]
                    ) from None
                return model.model_validate(data)
            return model.model_validate_json(raw)
        except ValidationError as exc:
            raise RequestValidationError(_plain_errors(exc)) from None

    # Annotations are strings in this module: FastAPI reads this signature instead, in which
    # ``after`` is a real dependency (so it runs, and raises, before the body is read).
    read.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(
                "request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request
            ),
            inspect.Parameter(
                "caller",
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=Annotated[Caller, Depends(after)],
            ),
        ]
    )
    return read


def _plain_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """Location and message only: the input (which may be the whole body) is not echoed."""
    out = []
    for err in exc.errors(include_input=False, include_url=False, include_context=False):
        msg = err["msg"]
        if err["type"] == "json_invalid":
            msg = "the body is not valid JSON: " + msg.removeprefix("Invalid JSON: ")
        out.append({"loc": err["loc"], "msg": msg, "type": err["type"]})
    return out


def body_openapi(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` documenting ``model`` as the operation's required JSON body."""
    BODY_MODELS[model.__name__] = model
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}


def add_body_schemas(spec: dict[str, Any]) -> dict[str, Any]:
    """Put the schemas of the ``body_openapi`` models into ``spec``'s components."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for name, model in BODY_MODELS.items():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[name] = schema
    return spec
