"""Who is asking for a view, and the ``Authorization`` to forward on their behalf.

Bearer tokens are forwarded as they came; an API key is turned into a short-lived access token
for its user and scopes, exactly as the proxy does for proxied calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials

from crmkit.auth import Principal, Role, bearer, verify_access_token
from crmkit.problems import Forbidden, Unauthorized
from gateway.api_key_auth import ApiKeyResolver
from gateway.proxy import api_key_of

VIEW_ROLES = frozenset({Role.AGENT, Role.TEAM_LEAD, Role.ADMIN})


@dataclass(frozen=True, slots=True)
class Caller:
    principal: Principal
    authorization: str


async def view_caller(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Caller:
    """The verified caller (agents, team leads, admins); 401 without credentials, 403 for other roles."""
    key = api_key_of(request.scope["headers"])
    if key is not None:
        resolver: ApiKeyResolver = request.app.state.api_key_resolver
        authorization = (await resolver.authorization_for(key)).decode("latin-1")
    elif credentials is not None:
        authorization = f"Bearer {credentials.credentials}"
    else:
        raise Unauthorized("missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    principal = verify_access_token(request, authorization.removeprefix("Bearer "))
    request.state.principal = principal
    if principal.role not in VIEW_ROLES:
        raise Forbidden(f"this view is not available to the {principal.role.value} role")
    return Caller(principal=principal, authorization=authorization)


CallerDep = Annotated[Caller, Depends(view_caller)]
