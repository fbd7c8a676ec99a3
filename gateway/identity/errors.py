"""Domain errors of identity, each with its status code."""

from crmkit.problems import Conflict, NotFound, Unauthorized, Unprocessable


class InvalidCredentials(Unauthorized):
    """Unknown email, wrong password or deactivated user: one answer for all three."""

    def __init__(self) -> None:
        super().__init__("email or password is incorrect", headers={"WWW-Authenticate": "Bearer"})


class InvalidRefreshToken(Unauthorized):
    """Unknown, expired, revoked or reused refresh token."""


class RefreshTokenReused(InvalidRefreshToken):
    """A used refresh token came back: its whole family is revoked (the revocation must commit)."""


class InvalidApiKey(Unauthorized):
    """Unknown or revoked API key, or its user deactivated: the same problem as a bad token, with
    the challenge naming the scheme that failed."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "ApiKey"})


class EmailTaken(Conflict):
    """Another user already has this email."""


class TeamNameTaken(Conflict):
    """Another team already has this name."""


class UserNotFound(NotFound):
    """No such user, or not one the caller may see."""


class TeamNotFound(NotFound):
    """No such team."""


class ApiKeyNotFound(NotFound):
    """No such API key."""


class InvalidAssignment(Unprocessable):
    """Role and team do not fit together, or the team/user referred to does not exist."""
