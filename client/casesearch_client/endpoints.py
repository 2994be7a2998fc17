"""The methods both clients share: each is a call of ``calls`` bound to the client's ``_run``.

``CaseSearch._run`` sends a call and returns its result; ``AsyncCaseSearch._run`` returns a
coroutine for it. So ``CaseSearch(...).search(...)`` is a ``SearchPage`` and
``AsyncCaseSearch(...).search(...)`` an awaitable of one, from one definition
(``calls.search``), with its signature and docstring.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, overload

from casesearch_client import calls
from casesearch_client.calls import Call
from casesearch_client.retry import Policy

if TYPE_CHECKING:
    from casesearch_client.async_client import AsyncCaseSearch
    from casesearch_client.client import CaseSearch

Params = ParamSpec("Params")
Answer = TypeVar("Answer")


class Endpoint(Generic[Params, Answer]):
    """A method made from a call builder: on a client, ``builder``'s arguments in, the
    client's ``_run`` of the built call out."""

    def __init__(self, builder: Callable[Params, Call[Answer]]) -> None:
        self.builder = builder
        self.__doc__ = builder.__doc__

    @overload
    def __get__(self, client: None, owner: type[Any]) -> Endpoint[Params, Answer]: ...
    @overload
    def __get__(self, client: CaseSearch, owner: type[Any]) -> Callable[Params, Answer]: ...
    @overload
    def __get__(
        self, client: AsyncCaseSearch, owner: type[Any]
    ) -> Callable[Params, Coroutine[Any, Any, Answer]]: ...

    def __get__(self, client: Any, owner: type[Any]) -> Any:
        if client is None:
            return self
        builder, run = self.builder, client._run

        @functools.wraps(builder)
        def method(*args: Any, **kwargs: Any) -> Any:
            return run(builder(*args, **kwargs))

        return method


class Endpoints:
    """The API, one method a call (see ``calls`` for each one's arguments and answer)."""

    search = Endpoint(calls.search)
    document = Endpoint(calls.document)
    timeline = Endpoint(calls.timeline)
    patterns = Endpoint(calls.patterns)
    chronology = Endpoint(calls.chronology)
    push = Endpoint(calls.push)
    delete = Endpoint(calls.delete)
    changes = Endpoint(calls.changes)


def connection(base_url: str, token: str, policy: Policy) -> dict[str, Any]:
    """The options of either client's ``httpx`` client (less its transport)."""
    return {
        "base_url": base_url.rstrip("/"),
        "headers": {"Authorization": f"Bearer {token}", "Accept": "application/json"},
        "timeout": policy.timeout,
    }
