"""Domain errors of the policies service; each knows its status code."""

from __future__ import annotations

from crmkit.problems import Conflict, FieldError, NotFound, Unprocessable


class ProductNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no such product")


class ProposalNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no such proposal")


class ApplicationNotFound(NotFound):
    """Absent or outside the caller's scope: indistinguishable on purpose."""

    def __init__(self) -> None:
        super().__init__("no such application")


class PolicyNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no such policy")


class RequirementNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no such underwriting requirement on this application")


class PremiumNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no such premium instalment on this policy")


class FlagNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no such compliance flag")


class ClientNotFound(NotFound):
    """The clients service does not show this client to the caller (absent, deleted or not theirs)."""

    def __init__(self) -> None:
        super().__init__("no such client in the clients service, or not one of yours; nothing was stored")


class InvalidField(Unprocessable):
    """A business rule on one field failed (the body itself was well formed)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", errors=[FieldError(field=field, message=message)])


class RuleConflict(Conflict):
    """The resource's current facts forbid the request (e.g. the cooling-off period has ended)."""

    title = "Conflict with the record's state"
    slug = "rule-conflict"


class DuplicatePolicyNumber(Conflict):
    title = "Duplicate policy number"
    slug = "duplicate-policy-number"

    def __init__(self, insurer: str, number: str) -> None:
        super().__init__(f"{insurer} already has a policy numbered {number}")


class DuplicateProduct(Conflict):
    title = "Duplicate product"
    slug = "duplicate-product"

    def __init__(self, insurer: str, name: str) -> None:
        super().__init__(f"{insurer} already has a product named {name}")
