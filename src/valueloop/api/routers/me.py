"""Who the request's token belongs to."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from valueloop.api.auth import Principal
from valueloop.api.models import PrincipalOut
from valueloop.api.signin import current_principal

router = APIRouter(prefix="/me", tags=["session"])


@router.get("")
def whoami(principal: Annotated[Principal, Depends(current_principal)]) -> PrincipalOut:
    """The name and role of the token's owner."""
    return PrincipalOut(name=principal.name, role=principal.role)
