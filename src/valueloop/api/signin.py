"""Who a request acts for: the bearer token of each request to ``/api`` checked, and its role.

:func:`current_principal` checks the request's token (:func:`~valueloop.api.auth.authenticate`)
and notes the outcome on the request, for the access log (:func:`principal_of`) and the sign-in
throttle (:func:`refusal_of`); :func:`require` makes a route need a role (401 without a valid
token, 403 with a lesser role).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope

from valueloop.api.auth import Principal, Role, TokenRefused, authenticate, role_allows, token_id_of
from valueloop.api.deps import SiteDep
from valueloop.api.errors import ForbiddenError
from valueloop.api.tokencache import token_rows
from valueloop.errors import AuthError

_PRINCIPAL_STATE = "valueloop_principal"
_REFUSAL_STATE = "valueloop_refusal"

_bearer = HTTPBearer(
    auto_error=False,
    description=(
        "An API token issued with `valueloop users add NAME --role ROLE` (a new user) or "
        "`valueloop users token NAME` (another token for a user), or by an admin through "
        "`POST /api/users`."
    ),
)


async def current_principal(
    request: Request,
    site: SiteDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """FastAPI dependency: the principal of the request's bearer token (401 without one).

    A token whose row is kept in memory is checked on the event loop; any other in a worker
    thread, since its row is read from the store. The outcome is noted on the request for the
    access log and the sign-in throttle (:func:`principal_of`, :func:`refusal_of`).
    """
    if credentials is None:
        raise AuthError("a bearer token is required")
    token, store = credentials.credentials, site.store
    token_id = token_id_of(token)
    try:
        if token_id is not None and token_rows(store).get(token_id):
            principal = authenticate(store, token)
        else:
            principal = await run_in_threadpool(authenticate, store, token)
    except TokenRefused as refused:
        setattr(request.state, _REFUSAL_STATE, refused)
        raise
    setattr(request.state, _PRINCIPAL_STATE, principal)
    return principal


def principal_of(scope: Scope) -> Principal | None:
    """The principal a request was authenticated as, once :func:`current_principal` has run."""
    principal: Principal | None = scope.get("state", {}).get(_PRINCIPAL_STATE)
    return principal


def refusal_of(scope: Scope) -> TokenRefused | None:
    """Why the request's token was refused, if :func:`current_principal` refused one."""
    refused: TokenRefused | None = scope.get("state", {}).get(_REFUSAL_STATE)
    return refused


class RoleCheck:
    """FastAPI dependency: the request's principal, who must hold ``role`` (else 403)."""

    def __init__(self, role: Role) -> None:
        self.role: Role = role

    async def __call__(
        self, principal: Annotated[Principal, Depends(current_principal)]
    ) -> Principal:
        """The principal, if their role allows :attr:`role`."""
        if not role_allows(principal.role, self.role):
            raise ForbiddenError(f"role {principal.role} may not do this; it needs {self.role}")
        return principal


def require(role: Role) -> RoleCheck:
    """FastAPI dependency factory: the request's principal, who must hold ``role`` (else 403)."""
    return RoleCheck(role)
