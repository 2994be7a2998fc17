"""Typed dependency aliases: the services, the settings and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth import Caller, verify_token
from app.errors import Forbidden, Unauthorized
from app.services import Services

_bearer = HTTPBearer(auto_error=False)


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_caller(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("a bearer token is required")
    return verify_token(services.settings, credentials.credentials)


CallerDep = Annotated[Caller, Depends(get_caller)]


def require_principal(principal: str) -> object:
    """A dependency that admits only callers holding ``principal``."""

    def _check(caller: CallerDep) -> Caller:
        if principal not in caller.all_principals:
            raise Forbidden(f"this operation needs the principal {principal!r}")
        return caller

    return Depends(_check)
