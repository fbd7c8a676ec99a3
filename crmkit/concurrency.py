"""Optimistic concurrency: ``version`` ↔ ``ETag``, and ``If-Match`` on every change."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Response

from crmkit.problems import PreconditionFailed, PreconditionRequired

MAX_VERSION_DIGITS = 18


def etag_for(version: int) -> str:
    return f'W/"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag_for(version)


def parse_if_match(value: str | None) -> set[int] | None:
    """``None`` for ``*``; otherwise the versions named (weak or strong tags alike)."""
    if value is None:
        raise PreconditionRequired("send If-Match with the ETag you last read, so no change is lost")
    value = value.strip()
    if value == "*":
        return None
    versions: set[int] = set()
    for tag in value.split(","):
        tag = tag.strip().removeprefix("W/").strip('"')
        # Versions are bigints we issued: ASCII digits, at most 18 of them. Anything longer (4,300
        # digits overflowed Python's int parsing into a 500) names no version of ours.
        if tag.isascii() and tag.isdigit() and len(tag) <= MAX_VERSION_DIGITS:
            versions.add(int(tag))
    if not versions:
        raise PreconditionFailed("If-Match holds no version this API issued")
    return versions


def check_if_match(if_match: str | None, current_version: int) -> None:
    """428 when missing, 412 when stale."""
    versions = parse_if_match(if_match)
    if versions is not None and current_version not in versions:
        raise PreconditionFailed(
            f"the record changed since you read it (now version {current_version}); reload and retry",
            headers={"ETag": etag_for(current_version)},
        )


IfMatchHeader = Annotated[
    str | None,
    Header(alias="If-Match", description="The ETag of the version being changed (required)."),
]
