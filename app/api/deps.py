"""Typed dependency aliases: the services, the settings and the authenticated caller."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

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
