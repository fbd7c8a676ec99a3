"""Domain errors of the tasks service; each knows its status code."""

from __future__ import annotations

from crmkit.problems import Conflict, FieldError, Forbidden, NotFound, Unprocessable


class TaskNotFound(NotFound):
    """Absent, or outside the caller's scope: indistinguishable on purpose."""

    def __init__(self) -> None:
        super().__init__("no such task")


class LinkedRecordNotFound(NotFound):
    """The client, application, policy or claim a task names is absent or outside the caller's scope
    (the one `not-found` type; `errors` names the link)."""

    def __init__(self, link_type: str) -> None:
        super().__init__(
            f"no such {link_type} (or not yours to see)",
            errors=[FieldError(field="link.id", message=f"no such {link_type}")],
        )


class ClientNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no such client")


class TemplateNotFound(NotFound):
    def __init__(self, what: str = "template") -> None:
        super().__init__(f"no such {what}")


class NotificationNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no such notification")


class AssignmentRefused(Forbidden):
    """An agent assigns only to themselves; a team lead within the team (the one `forbidden` type)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, errors=[FieldError(field="owner_agent_id", message=message)])


class NoConsent(Conflict):
    """The client has not given (or has withdrawn) the consent the message needs."""

    slug = "consent-missing"

    def __init__(self, purpose: str) -> None:
        needed = "marketing" if purpose == "marketing" else "personal_data (service messages)"
        super().__init__(
            f"the client has no active {needed} consent; nothing was sent",
            extra={"required_consent": "marketing" if purpose == "marketing" else "personal_data"},
        )


class InvalidField(Unprocessable):
    """A business rule on one field failed (the body itself was well formed)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", errors=[FieldError(field=field, message=message)])
