"""Domain errors of the devices service; each knows its status code."""

from __future__ import annotations

from crmkit.problems import Conflict, FieldError, NotFound, Unprocessable


class DeviceNotFound(NotFound):
    """Absent, or outside the caller's scope: indistinguishable on purpose."""

    def __init__(self) -> None:
        super().__init__("no such device")


class CheckNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no such check")


class RepairNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no such repair")


class DeviceRetired(Conflict):
    """A retired device is kept for the record only. Not a state move (a check or a change asks for
    none), so the body carries no transition fields; retiring it again is an IllegalTransition."""

    title = "Device retired"
    slug = "device-retired"

    def __init__(self, doing: str) -> None:
        super().__init__(f"the device is retired and accepts no {doing}")


class DuplicateAssetTag(Conflict):
    title = "Duplicate asset tag"
    slug = "duplicate-asset-tag"

    def __init__(self, asset_tag: str) -> None:
        super().__init__(
            f"asset tag {asset_tag} is already registered",
            errors=[FieldError(field="asset_tag", message="already registered to another device")],
        )


class InvalidField(Unprocessable):
    """A business rule on one field failed (the body itself was well formed)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", errors=[FieldError(field=field, message=message)])


class InvalidFindings(Unprocessable):
    """The findings of a check do not name each category of the procedure exactly once."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors)
