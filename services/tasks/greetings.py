"""A greeting sent to a client, by a channel or by hand, recorded on the client's timeline."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from crmkit.auth import Principal
from crmkit.clock import BusinessClock
from services.tasks import notifications
from services.tasks.calendar import NAMES
from services.tasks.errors import ClientNotFound, InvalidField
from services.tasks.peers import Peers
from services.tasks.schemas import (
    Channel,
    GreetingRecorded,
    GreetingSent,
    NotificationCreate,
    Occasion,
    Recipient,
)

LABELS = {
    Occasion.BIRTHDAY: "生日",
    Occasion.MILESTONE: "家庭喜事",
    **{occasion: name for occasion, name in NAMES.items()},
}
BY = {"sms": "短信", "wechat": "微信", "by_hand": "亲自"}


async def record_greeting(
    *,
    session: AsyncSession,
    principal: Principal,
    peers: Peers,
    clock: BusinessClock,
    client_id: uuid.UUID,
    data: GreetingSent,
) -> GreetingRecorded:
    if await peers.record("client", client_id) is None:
        raise ClientNotFound()
    if data.occasion is Occasion.MILESTONE and data.milestone is None:
        raise InvalidField("milestone", "name the family milestone (e.g. 乔迁之喜)")
    notification_id = None
    if data.channel != "by_hand":
        if data.occasion is Occasion.BIRTHDAY:
            template, variables = "birthday_greeting", {}
        elif data.occasion is Occasion.MILESTONE:
            template, variables = "milestone_greeting", {"milestone": data.milestone or ""}
        else:
            template, variables = "festival_greeting", {"festival": NAMES[data.occasion]}
        sent = await notifications.send(
            session=session,
            principal=principal,
            peers=peers,
            clock=clock,
            data=NotificationCreate(
                recipient=Recipient(type="client", id=client_id),
                template=template,
                channels=[Channel(data.channel)],
                variables=variables,
            ),
        )
        notification_id = sent.id
    label = LABELS[data.occasion] + (f"（{data.milestone}）" if data.milestone else "")  # noqa: RUF001
    outcome = f"{BY[data.channel]}发送{label}问候" + (f"：{data.note}" if data.note else "")  # noqa: RUF001
    interaction_id = await peers.record_on_timeline(client_id, purpose=f"{label}问候", outcome=outcome)
    return GreetingRecorded(
        client_id=client_id,
        occasion=data.occasion,
        channel=data.channel,
        notification_id=notification_id,
        interaction_id=interaction_id,
    )
