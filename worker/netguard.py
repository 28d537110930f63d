"""Which network addresses PeaceWatch may contact: the SSRF guard's address policy.

A feed URL is untrusted input, and so is every URL a server or a feed sends back. By default
only public unicast addresses may be contacted; loopback, private, link-local, CGNAT,
multicast, unspecified, reserved and other special-purpose addresses (IPv4 and IPv6,
IPv4-mapped and other IPv4-embedding IPv6 forms) are refused. ``allow_private_networks``
lifts the rule entirely; an allowlist of host names and CIDRs lifts it for those only.

Two checks use one :class:`AddressPolicy`:

- :meth:`AddressPolicy.check_host` before any request: the URL's host as written, with odd
  IPv4 spellings (``127.1``, ``2130706433``, ``0x7f000001``, ``0177.0.0.1``) parsed the way
  the C resolver would, ``[::1]`` and ``localhost`` names refused without a lookup;
- :meth:`AddressPolicy.allowed_addresses` at connect time: the addresses a :data:`Resolver`
  returned for the host, filtered, so the connection is made only to an address that passed
  (DNS rebinding between a check and the connect cannot happen: there is one lookup).

Example::

    policy = AddressPolicy(allowlist=("feeds.internal.example", "10.20.0.0/16"))
    policy.check_host("127.1")            # raises BlockedAddress (loopback)
    ips = policy.allowed_addresses("news.example", await resolver("news.example", 443))
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

from worker.errors import BlockedAddress, ConfigError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""Resolves a host name and port to IP address strings (the seam tests replace)."""

_HOW_TO_ALLOW = "set fetch.allow_private_networks = true or add it to fetch.allowlist to allow"

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_THIS_NETWORK = ipaddress.IPv4Network("0.0.0.0/8")
_BENCHMARK = ipaddress.IPv4Network("198.18.0.0/15")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")

_NUMBER_PART = re.compile(r"0[xX][0-9a-fA-F]*|[0-9]+")


async def system_resolver(host: str, port: int) -> list[str]:
    """The default :data:`Resolver`: the event loop's ``getaddrinfo`` (TCP), in order,
    without duplicates. Raises ``socket.gaierror`` when the name does not resolve."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = str(sockaddr[0])
        if address not in seen:
            seen.append(address)
    return seen


def _inet_aton(text: str) -> ipaddress.IPv4Address | None:
    """Parse an IPv4 address the way ``inet_aton`` does: one to four parts, each decimal,
    octal (leading 0) or hex (0x); the last part fills the remaining bytes.
    ``None`` when ``text`` is not such a number."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4 or not all(_NUMBER_PART.fullmatch(p) for p in parts):
        return None
    values: list[int] = []
    for part in parts:
        if part[:2].lower() == "0x":
            values.append(int(part[2:] or "0", 16))
        elif len(part) > 1 and part.startswith("0"):
            if any(c in "89" for c in part):
                return None
            values.append(int(part, 8))
        else:
            values.append(int(part))
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (4 - len(head)):
        return None
    number = last
    for index, value in enumerate(head):
        number |= value << (8 * (3 - index))
    return ipaddress.IPv4Address(number)


def parse_ip(host: str) -> IPAddress | None:
    """The IP address ``host`` denotes if it is a literal in any spelling a resolver would
    accept (``[::1]``, ``fe80::1%eth0``, ``127.1``, ``2130706433``, ``0x7f000001``,
    ``0177.0.0.1``, a trailing dot); ``None`` for a host name."""
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:
        try:
            v6 = ipaddress.IPv6Address(text.split("%", 1)[0])
        except ValueError:
            return None
        return v6
    text = text.removesuffix(".")
    try:
        return ipaddress.IPv4Address(text)
    except ValueError:
        return _inet_aton(text)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries and would reach (mapped, NAT64, 6to4)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    return None


def classify(address: IPAddress) -> str | None:
    """Why ``address`` is refused by default (``"a loopback address"``), or ``None`` when it
    is a public unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = classify(embedded)
            return f"{reason} (IPv4 {embedded} inside IPv6)" if reason else None
        if address.scope_id:
            return "a scoped (link-local) address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv4Address):
        if address in _CGNAT:
            return "a carrier-grade NAT (shared) address"
        if address in _THIS_NETWORK:
            return "a 'this network' address"
        if address in _BENCHMARK:
            return "a benchmarking address"
    elif address in _IPV4_COMPATIBLE or address in _NAT64_LOCAL:
        return "a reserved address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "a special-purpose (non-public) address"
    return None


def is_local_name(host: str) -> bool:
    """``localhost`` and names under it (``a.localhost``), which always mean this machine."""
    name = host.strip().lower().removesuffix(".")
    return name == "localhost" or name.endswith(".localhost")


def _normal_name(host: str) -> str:
    return host.strip().lower().removesuffix(".").strip("[]")


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """The address rules for one fetcher. Build with :meth:`build`."""

    allow_private_networks: bool = False
    hosts: frozenset[str] = frozenset()
    """Allowlisted host names (lower case, no trailing dot): any address they resolve to."""
    networks: tuple[IPNetwork, ...] = ()
    """Allowlisted networks (a single IP is a /32 or /128)."""

    @classmethod
    def build(
        cls, *, allow_private_networks: bool = False, allowlist: Iterable[str] = ()
    ) -> AddressPolicy:
        """A policy from settings; an allowlist entry is a host name, an IP or a CIDR.

        Raises :class:`ConfigError` for an entry that is neither.
        """
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in allowlist:
            entry = raw.strip()
            if not entry:
                continue
            if "/" in entry:
                try:
                    networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                except ValueError as exc:
                    raise ConfigError(
                        f"fetch.allowlist: {entry!r} is not a valid CIDR network"
                    ) from exc
                continue
            literal = parse_ip(entry)
            if literal is not None:
                networks.append(ipaddress.ip_network(literal))
            elif re.fullmatch(r"[A-Za-z0-9_.-]+", entry):
                hosts.add(_normal_name(entry))
            else:
                raise ConfigError(
                    f"fetch.allowlist: {entry!r} is neither a host name, an IP nor a CIDR"
                )
        return cls(allow_private_networks, frozenset(hosts), tuple(networks))

    @property
    def unrestricted(self) -> bool:
        return self.allow_private_networks

    def host_allowed(self, host: str) -> bool:
        """Whether ``host`` (a name) is on the allowlist: every address it resolves to is."""
        return _normal_name(host) in self.hosts

    def address_refusal(self, address: IPAddress) -> str | None:
        """Why ``address`` may not be contacted, or ``None`` when it may."""
        if self.allow_private_networks:
            return None
        if any(address in network for network in self.networks):
            return None
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            mapped = address.ipv4_mapped
            if any(mapped in network for network in self.networks):
                return None
        return classify(address)

    def check_host(self, host: str) -> None:
        """Refuse ``host`` as written in a URL, before any lookup: a literal address in any
        spelling that is not allowed, or a ``localhost`` name. Names are checked again, by
        address, at connect time (:meth:`allowed_addresses`)."""
        if self.allow_private_networks or self.host_allowed(host):
            return
        address = parse_ip(host)
        if address is not None:
            reason = self.address_refusal(address)
            if reason is not None:
                raise BlockedAddress(_literal_message(host, address, reason))
            return
        if is_local_name(host):
            raise BlockedAddress(
                f"blocked: {_normal_name(host)} is a loopback name ({_HOW_TO_ALLOW})"
            )

    def allowed_addresses(self, host: str, addresses: Sequence[str]) -> list[IPAddress]:
        """The addresses among ``addresses`` (what ``host`` resolved to) that may be contacted.

        Raises :class:`BlockedAddress` when none may (naming the first refused address).
        """
        parsed: list[IPAddress] = []
        for text in addresses:
            address = parse_ip(text)
            if address is not None and address not in parsed:
                parsed.append(address)
        if self.allow_private_networks or self.host_allowed(host):
            if not parsed:
                raise BlockedAddress(f"blocked: {host} resolved to no usable address")
            return parsed
        allowed = [a for a in parsed if self.address_refusal(a) is None]
        if allowed:
            return allowed
        if not parsed:
            raise BlockedAddress(f"blocked: {host} resolved to no usable address")
        first = parsed[0]
        reason = self.address_refusal(first) or "not allowed"
        if parse_ip(host) is not None:
            raise BlockedAddress(_literal_message(host, first, reason))
        raise BlockedAddress(f"blocked: {host} resolves to {first}, {reason} ({_HOW_TO_ALLOW})")


def _literal_message(host: str, address: IPAddress, reason: str) -> str:
    written = host.strip("[]")
    shown = str(address) if written == str(address) else f"{written} ({address})"
    return f"blocked: {shown} is {reason} ({_HOW_TO_ALLOW})"
