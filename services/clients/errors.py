"""Domain errors of the clients service; each knows its status code."""

from __future__ import annotations

from crmkit.problems import Conflict, FieldError, NotFound, Unprocessable


class ClientNotFound(NotFound):
    """Absent, deleted, or outside the caller's scope: the three are indistinguishable on purpose."""

    def __init__(self) -> None:
        super().__init__("no such client")


class ClientBusy(Conflict):
    """Another request is changing the client right now; a retry will see its result."""

    def __init__(self) -> None:
        super().__init__("the other client is being changed by another request right now; try again")


class InvalidClientField(Unprocessable):
    """A business rule on one field failed (the body itself was well formed)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", errors=[FieldError(field=field, message=message)])


class RecordNotFound(NotFound):
    """A record under a client (family member, interaction, ...) that is absent or out of scope."""

    def __init__(self, what: str) -> None:
        super().__init__(f"no such {what}")


class ClientEventNotFound(NotFound):
    """No such event, or not the caller's to see."""


class EventFull(Conflict):
    """The event is at capacity."""


class NoMarketingConsent(Conflict):
    """The client has not agreed to marketing: no invitation (个人信息保护法 §13-14: consent per purpose)."""


class AlreadyDone(Conflict):
    """Invited already, or already attributed to an event."""
