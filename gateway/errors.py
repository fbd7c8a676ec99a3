"""Errors of the gateway's own plumbing (upstreams)."""

from crmkit.problems import ProblemError, ServiceUnavailable


class UpstreamUnavailable(ServiceUnavailable):
    """The service could not be reached."""


class UpstreamTimeout(ProblemError):
    status, title, slug = 504, "Gateway timeout", "upstream-timeout"


class UpstreamFailed(ProblemError):
    status, title, slug = 502, "Bad gateway", "upstream-failed"
