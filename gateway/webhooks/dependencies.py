"""Who may manage webhooks: administrators, signed in or through an API key with the `webhooks` scope.

Events are not scoped per owner (a subscription receives every matching event, masked), so only
administrators may subscribe: an agent's key with the `webhooks` scope would otherwise see the
whole book. API keys are resolved here exactly as the proxy does for proxied calls.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials

from crmkit.auth import Principal, Role, bearer, verify_access_token
from crmkit.db import SessionDep
from crmkit.problems import Forbidden, Unauthorized
from gateway.api_key_auth import ApiKeyResolver
from gateway.config import Settings
from gateway.proxy import api_key_of
from gateway.webhooks import service
from gateway.webhooks.models import WebhookSubscription

SCOPE = "webhooks"


async def webhook_admin(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal:
    """An administrator (bearer token), or an administrator's API key carrying the `webhooks` scope."""
    key = api_key_of(request.scope["headers"])
    if key is not None:
        resolver: ApiKeyResolver = request.app.state.api_key_resolver
        token = (await resolver.authorization_for(key)).decode("latin-1").removeprefix("Bearer ")
    elif credentials is not None:
        token = credentials.credentials
    else:
        raise Unauthorized("missing bearer token or API key", headers={"WWW-Authenticate": "Bearer"})
    principal = verify_access_token(request, token)
    request.state.principal = principal
    if principal.role is not Role.ADMIN:
        raise Forbidden("webhooks are managed by administrators (events are not scoped per owner)")
    if not principal.allows(SCOPE):
        raise Forbidden(f"this API key lacks the '{SCOPE}' scope")
    return principal


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


WebhookAdminDep = Annotated[Principal, Depends(webhook_admin)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
SubscriptionId = Annotated[uuid.UUID, Path(description="The subscription's id.")]
DeliveryId = Annotated[uuid.UUID, Path(description="The delivery's id.")]


async def valid_subscription(
    subscription_id: SubscriptionId, principal: WebhookAdminDep, session: SessionDep
) -> WebhookSubscription:
    """The subscription named in the path (404 otherwise)."""
    return await service.get_subscription(session=session, subscription_id=subscription_id)


async def subscription_to_change(
    subscription_id: SubscriptionId, principal: WebhookAdminDep, session: SessionDep
) -> WebhookSubscription:
    """The subscription, locked until the change commits, so If-Match cannot race."""
    return await service.get_subscription(session=session, subscription_id=subscription_id, for_update=True)


ValidSubscription = Annotated[WebhookSubscription, Depends(valid_subscription)]
ChangedSubscription = Annotated[WebhookSubscription, Depends(subscription_to_change)]
