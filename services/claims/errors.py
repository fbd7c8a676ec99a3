"""Domain errors of the claims service; each knows its status code. An illegal status move is
``crmkit.workflow.IllegalTransition`` (the one 409 body of every service)."""

from __future__ import annotations

from collections.abc import Sequence

from crmkit.problems import Conflict, FieldError, NotFound, Unprocessable


class ClaimNotFound(NotFound):
    """Absent or outside the caller's scope: the two are indistinguishable on purpose."""

    def __init__(self) -> None:
        super().__init__("no such claim")


class DocumentNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no such document on this claim")


class InvalidClaimField(Unprocessable):
    """A business rule on one field failed (the body itself was well formed)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", errors=[FieldError(field=field, message=message)])


class DocumentsMissing(Conflict):
    """Submission needs every required checklist item received; the problem names the rest."""

    title = "Required documents missing"
    slug = "documents-missing"

    def __init__(self, *, requested: str, missing: Sequence[tuple[str, str, str]]) -> None:
        names = ", ".join(f"{name} ({status})" for _, name, status in missing)
        super().__init__(
            f"cannot move to {requested}: {len(missing)} required document(s) not received: {names}",
            extra={
                "missing_documents": [
                    {"code": code, "name": name, "status": status} for code, name, status in missing
                ]
            },
        )


class ClaimClosed(Conflict):
    title = "Claim is closed or past that stage"
    slug = "claim-not-editable"
