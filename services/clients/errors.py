"""Domain errors of the clients service; each knows its status code."""

from __future__ import annotations

from crmkit.problems import FieldError, NotFound, Unprocessable


class ClientNotFound(NotFound):
    """Absent, deleted, or outside the caller's scope: the three are indistinguishable on purpose."""

    def __init__(self) -> None:
        super().__init__("no such client")


class InvalidClientField(Unprocessable):
    """A business rule on one field failed (the body itself was well formed)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", errors=[FieldError(field=field, message=message)])
