"""Where the gateway may send webhooks: http(s) only, HTTPS outside development, and never to an
address inside our own networks unless configured (server-side request forgery guard).

Checked when a subscription is registered or changed, and again before every delivery, because
what a name resolves to can change after registration.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit

from gateway.webhooks.errors import UnsafeTarget

PLAIN_HTTP_ENVIRONMENTS = frozenset({"development", "test"})
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_target(url: str, *, environment: str) -> SplitResult:
    """The URL's parts, if its form is acceptable (scheme, host, no credentials)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeTarget("not a valid URL") from exc
    if parts.scheme not in ("http", "https"):
        raise UnsafeTarget("must be an http:// or https:// URL")
    if not parts.hostname:
        raise UnsafeTarget("must name a host")
    if parts.username or parts.password:
        raise UnsafeTarget("must not carry credentials; the signature authenticates the gateway")
    if parts.scheme != "https" and environment not in PLAIN_HTTP_ENVIRONMENTS:
        raise UnsafeTarget("must use https:// outside development")
    if port == 0:
        raise UnsafeTarget("port 0 is not a port")
    return parts


def is_public(address: IpAddress) -> bool:
    """Globally routable unicast only: loopback, private, link-local, shared, reserved,
    multicast and unspecified addresses are all refused, IPv4-mapped IPv6 included."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


async def resolve(host: str, port: int) -> list[IpAddress]:
    """Every address the name resolves to (a literal address resolves to itself)."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeTarget(f"the host {host!r} does not resolve") from exc
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


async def check_target(url: str, *, environment: str, allow_private: bool) -> None:
    """422 unless the URL is acceptable and every address it resolves to may be called."""
    parts = parse_target(url, environment=environment)
    if allow_private:
        return
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    for address in await resolve(host, port):
        if not is_public(address):
            raise UnsafeTarget(
                f"resolves to {address}, a loopback, private, link-local or reserved address; "
                "webhooks go to public addresses only"
            )
