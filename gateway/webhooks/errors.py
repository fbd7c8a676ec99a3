"""Domain errors of the webhooks, each with its status code."""

from crmkit.problems import FieldError, NotFound, Unprocessable


class SubscriptionNotFound(NotFound):
    """No such webhook subscription."""


class DeliveryNotFound(NotFound):
    """No such webhook delivery."""


class UnsafeTarget(Unprocessable):
    """A webhook URL that is not http(s), not HTTPS outside development, or that resolves to an
    address the gateway must not call (loopback, private, link-local, reserved)."""

    def __init__(self, message: str) -> None:
        super().__init__(f"url: {message}", errors=[FieldError(field="url", message=message)])
