"""Downloads that reach only the public internet: the guard on media URLs (SSRF).

A media URL comes from a user (Slack, the API), so fetching it must never reach Herald's
own network: loopback, private, link-local, multicast, reserved or unspecified addresses
are refused. The check runs where the address is chosen, in the connector's resolver, on
every address a name resolves to (one bad address refuses the name: DNS may hand out any
of them), so the connection goes to an address that was checked (no re-resolution between
check and connect). IP literals skip resolvers, so each hop checks them itself. Redirects
are followed by hand, at most `MAX_REDIRECTS`, each hop re-checked; only http(s).

Origins the operator configured (the Slack API URL: a local fake in tests) are trusted for
downloads a fetcher made, never for a user's URL. `allow_private` (HERALD_MEDIA_ALLOW_PRIVATE_URLS)
turns the address check off, for tests and local setups.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncIterator, Collection, Mapping
from contextlib import asynccontextmanager
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from engine.errors import InvalidInput, NetworkError

MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})
TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=15, sock_read=60)
# Never forwarded to another origin after a redirect (a Slack bot token, cookies).
_CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedUrl(InvalidInput):
    """A media URL Herald will not fetch (not public, not http(s), too many redirects)."""


def address_problem(address: IPAddress) -> str | None:
    """Why `address` is not a public internet address ("private", "loopback", ...), or None."""
    if isinstance(address, ipaddress.IPv6Address):
        # An IPv4 address wrapped in IPv6 reaches that IPv4 host.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return address_problem(embedded)
    checks = (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        # What is left and still not global: shared (CGNAT 100.64/10), benchmarking, ...
        ("non-public", not address.is_global),
    )
    return next((name for name, hit in checks if hit), None)


def _refusal(
    address: str, problem: str, what: str = "media URL", reach: str = "fetches"
) -> BlockedUrl:
    article = "an" if problem[0] in "aeiou" else "a"
    return BlockedUrl(
        f"{what} resolves to {article} {problem} address {address}; Herald only {reach} public URLs"
    )


def refuse_private_literal(url: str, *, what: str, reach: str) -> None:
    """Refuse at once a URL that is not http(s) or names a non-public address literally (an
    IP, `localhost`): names are checked again, by the resolver, on every connection.
    Raises BlockedUrl naming `what`."""
    scheme, host, _ = _origin(url)
    if scheme not in ("http", "https") or not host:
        raise BlockedUrl(f"{what} {url[:80]!r}: only http(s) URLs")
    if host == "localhost" or host.endswith(".localhost"):
        raise _refusal(host, "loopback", what, reach)
    address = _literal(host)
    problem = address_problem(address) if address is not None else None
    if problem is not None:
        raise _refusal(str(address), problem, what, reach)


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


class PublicOnlyResolver(AbstractResolver):
    """Resolves with `inner` and refuses the name when any address it gives is not public."""

    def __init__(
        self,
        inner: AbstractResolver | None = None,
        *,
        exempt: Collection[tuple[str, int]] = (),
        what: str = "media URL",
        reach: str = "fetches",
    ) -> None:
        self._inner = inner
        self._exempt = frozenset(exempt)
        # How a refusal names the URL and what Herald does with it ("webhook URL", "posts to").
        self._what, self._reach = what, reach

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Raises BlockedUrl, OSError (the name does not resolve)."""
        if self._inner is None:
            self._inner = aiohttp.ThreadedResolver()
        results = await self._inner.resolve(host, port, family)
        if (host.lower(), port) in self._exempt:
            return results
        for result in results:
            address = _literal(result["host"])
            problem = "unparsable" if address is None else address_problem(address)
            if problem is not None:
                raise _refusal(result["host"], problem, self._what, self._reach)
        return results

    async def close(self) -> None:
        if self._inner is not None:
            await self._inner.close()


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port


def _check_hop(url: str, *, allow_private: bool, trusted: bool) -> None:
    """Refuse a hop that is not http(s), or names a non-public IP literal. BlockedUrl."""
    scheme, host, _ = _origin(url)
    if scheme not in ("http", "https") or not host:
        raise BlockedUrl(f"media URL {url[:80]!r}: only http(s) URLs are fetched")
    address = _literal(host)
    if address is not None and not (allow_private or trusted):
        problem = address_problem(address)
        if problem is not None:
            raise _refusal(str(address), problem)


@asynccontextmanager
async def open_public(
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    allow_private: bool = False,
    trusted_origins: Collection[str] = (),
    resolver: AbstractResolver | None = None,
    max_redirects: int = MAX_REDIRECTS,
) -> AsyncIterator[aiohttp.ClientResponse]:
    """GET `url`, following at most `max_redirects` redirects, every hop checked; yields the
    final response (its body unread). Raises BlockedUrl, NetworkError."""
    trusted = {_origin(o) for o in trusted_origins}
    exempt = [(host, port) for _, host, port in trusted]
    if allow_private:
        connector = aiohttp.TCPConnector(resolver=resolver) if resolver else None
    else:
        guard = PublicOnlyResolver(resolver, exempt=exempt)
        connector = aiohttp.TCPConnector(resolver=guard, use_dns_cache=False)
    sent: dict[str, str] = dict(headers or {})
    first_origin = _origin(url)
    try:
        async with aiohttp.ClientSession(connector=connector, timeout=TIMEOUT) as session:
            for _hop in range(max_redirects + 1):
                origin = _origin(url)
                _check_hop(url, allow_private=allow_private, trusted=origin in trusted)
                if origin != first_origin:
                    sent = {k: v for k, v in sent.items() if k.lower() not in _CREDENTIAL_HEADERS}
                async with session.get(url, headers=sent, allow_redirects=False) as response:
                    location = response.headers.get("Location")
                    if response.status in REDIRECTS and location:
                        url = urljoin(url, location)
                        continue
                    yield response
                    return
            raise BlockedUrl(f"media URL: more than {max_redirects} redirects; not followed")
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        name = urlsplit(url).hostname or "the host"
        raise NetworkError(f"media download from {name} failed ({type(exc).__name__})") from None


def trusted_origin(url: str) -> str:
    """`scheme://host:port` of `url`, for `trusted_origins`."""
    scheme, host, port = _origin(url)
    return f"{scheme}://{host}:{port}"
