"""Which webhook URLs and addresses may be called: https to public hosts only, unless switched off.

OAuth client metadata documents are fetched under the same rules (`pinned`).

The same rules run when a webhook is saved and again before every attempt (a DNS answer can change
in between); the first rule broken is reported as `[rule] what was found; how to fix it`.
"""

from __future__ import annotations

import ipaddress
import socket
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from urllib.parse import urlsplit, urlunsplit

import anyio.to_thread

MAX_URL = 2048
SWITCH = "CUSTOMERMATES_WEBHOOK_ALLOW_INSECURE=1"
# Saving a webhook waits this long for DNS at most; an unresolved name is accepted (it may not exist yet).
CONFIG_DNS_SECONDS = 2.0
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_dns = ThreadPoolExecutor(max_workers=2, thread_name_prefix="webhook-dns")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_KINDS = (
    ("a loopback", "is_loopback"),
    ("a link-local", "is_link_local"),
    ("a multicast", "is_multicast"),
    ("an unspecified", "is_unspecified"),
    ("a private", "is_private"),
)


class Refused(Exception):
    """A broken rule; `str()` is the whole message, starting with the rule in brackets."""

    def __init__(self, rule: str, detail: str):
        super().__init__(f"[{rule}] {detail}")
        self.rule = rule


def unwrap(address: Address) -> Address:
    """The IPv4 address inside an IPv4-mapped, NAT64 or 6to4 IPv6 address, else the address itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def kind_of(address: Address) -> str | None:
    """None for a public address, else a word for what it is (for the message)."""
    inner = unwrap(address)
    if inner.is_global and not inner.is_multicast:
        return None
    for word, test in _KINDS:
        if getattr(inner, test):
            return word
    return "a non-public"


def resolve(host: str, port: int) -> list[Address]:
    """Every A/AAAA answer for `host` (tests replace this to play DNS tricks)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))


def literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_addresses(host: str, addresses: list[Address]) -> None:
    """Refuse when any answer is non-public (one bad answer is enough to be redirected there)."""
    for address in addresses:
        kind = kind_of(address)
        if kind is not None:
            shown = (
                f"is {kind} address" if literal(host) == address else f"resolves to {address}, {kind} address"
            )
            found = f'"{host}" {shown}'
            raise Refused(
                "address_not_public",
                f"{found}; webhooks go to public hosts only ({SWITCH} lifts this for local setups).",
            )


def check_form(url: str, insecure: bool) -> tuple[str, int]:
    """The rules that need no DNS; returns (host, port)."""
    if len(url) > MAX_URL:
        raise Refused("invalid_url", f"the URL has {len(url)} characters, more than {MAX_URL}; shorten it.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused(
            "invalid_url", f'"{url}" cannot be read ({exc}); write e.g. "https://hooks.example.com/x".'
        ) from None
    if not parts.scheme or not parts.netloc:
        raise Refused(
            "invalid_url", f'"{url}" has no scheme or host; write e.g. "https://hooks.example.com/x".'
        )
    scheme = parts.scheme.lower()
    allowed = ("https", "http") if insecure else ("https",)
    if scheme not in allowed:
        fix = "" if insecure else f" For a local receiver set {SWITCH} on the server."
        raise Refused("https_required", f'webhook URLs must use https://; got "{url}".{fix}')
    if parts.username is not None or parts.password is not None:
        raise Refused(
            "credentials_in_url",
            '"user:password@" is in the URL; remove it: receivers authenticate deliveries by their signature.',
        )
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise Refused("invalid_url", f'"{url}" has no host; write e.g. "https://hooks.example.com/x".')
    if not insecure:
        if host == "localhost" or host.endswith(".localhost"):
            raise Refused(
                "address_not_public",
                f'"{host}" names this machine; webhooks go to public hosts only ({SWITCH} lifts this for local setups).',
            )
        address = literal(host)
        if address is not None:
            check_addresses(host, [address])
    return host, port or (443 if scheme == "https" else 80)


def check_config(url: str, insecure: bool) -> None:
    """At save time: the form rules, then every DNS answer (a name that does not resolve is accepted)."""
    host, port = check_form(url, insecure)
    if insecure or literal(host) is not None:
        return
    try:
        addresses = _dns.submit(resolve, host, port).result(CONFIG_DNS_SECONDS)
    except (OSError, UnicodeError, FutureTimeout):
        return
    check_addresses(host, addresses)


async def pinned(url: str, insecure: bool) -> tuple[str, dict[str, str], dict[str, str]]:
    """The URL to request (host replaced by a checked address: no DNS rebinding between the check and
    the connection), extra headers and request extensions. Raises Refused, or ConnectionError for DNS."""
    host, port = check_form(url, insecure)
    if insecure or literal(host) is not None:
        return url, {}, {}
    try:
        addresses = await anyio.to_thread.run_sync(resolve, host, port, abandon_on_cancel=True)
    except (OSError, UnicodeError) as exc:
        raise ConnectionError(f"DNS lookup for {host} failed ({exc})") from None
    if not addresses:
        raise ConnectionError(f"DNS lookup for {host} returned no address")
    check_addresses(host, addresses)
    address = addresses[0]
    shown = f"[{address}]" if address.version == 6 else str(address)
    parts = urlsplit(url)
    netloc = shown if parts.port is None else f"{shown}:{parts.port}"
    return (
        urlunsplit(parts._replace(netloc=netloc)),
        {"Host": parts.netloc},
        {"sni_hostname": host} if parts.scheme.lower() == "https" else {},
    )
