"""The client's address behind reverse proxies, without I/O.

Behind a proxy the socket's peer is the proxy; the client's address travels in
``X-Forwarded-For`` (or RFC 7239's ``Forwarded: for=``), which every proxy appends to and which
anyone can write. So the header is believed only when the peer is a trusted proxy, and only read
from the right: each trusted hop vouches for the address to its left, and the first address that
is not a trusted proxy's is the client's. What cannot be read (a malformed list, ``unknown``, an
obfuscated identifier) leaves the peer's address, the last one known to be true.

``X-Forwarded-For`` is read when there is one and ``Forwarded`` only otherwise: nginx, HAProxy
and most load balancers append to ``X-Forwarded-For`` and pass a client's own ``Forwarded`` on
untouched, so reading ``Forwarded`` first would let a client behind them name itself.
"""

import ipaddress
import re
from collections.abc import Iterable, Mapping

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_network(text: str) -> Network:
    """One trusted proxy: an address (a network of one) or a network in CIDR notation.

    Host bits set (``10.0.0.1/8``) are an error rather than silently widened or narrowed: the
    operator meant one of two different things."""
    try:
        return ipaddress.ip_network(text.strip())
    except ValueError as exc:
        raise ValueError(f"{text!r} is not an IP address or network: {exc}") from None


def parse_networks(texts: Iterable[str]) -> tuple[Network, ...]:
    return tuple(parse_network(text) for text in texts)


def client_address(peer: str | None, headers: Mapping[str, str], trusted: tuple[Network, ...]) -> str | None:
    """The client's address: ``peer`` (the socket's, None if unknown) unless it is a trusted proxy
    whose forwarding header names the client. ``headers`` have lower-cased names."""
    if not trusted or peer is None:
        return peer
    address = _address(peer)
    if address is None or not _trusted(address, trusted):
        return peer
    listed = headers.get("x-forwarded-for")
    hops = [hop.strip() for hop in listed.split(",")] if listed is not None else _forwarded_for(headers)
    if not hops:
        return peer
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return peer
        if not _trusted(address, trusted):
            break
    return str(address)  # the first untrusted hop, or the furthest when every hop is trusted


def _trusted(address: Address, trusted: tuple[Network, ...]) -> bool:
    return any(address in network for network in trusted)


def _address(node: str) -> Address | None:
    """An address as proxies write one: bare, ``[v6]``, ``[v6]:port`` or ``v4:port``; an IPv4
    address mapped into IPv6 (a dual-stack socket's peer) as the IPv4 address it is."""
    if node.startswith("["):
        host, bracket, rest = node[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return None
    elif node.count(":") == 1:
        host = node.partition(":")[0]
    else:
        host = node
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
#: One ``name=value`` pair of a ``Forwarded`` element, then what ends it: ``;`` (more pairs of the
#: same element), ``,`` (the next element, group 3) or the end.
_PAIR = re.compile(rf'[ \t]*({_TOKEN})=({_TOKEN}|"(?:[^"\\]|\\.)*")[ \t]*(?:;|(,)|\Z)')
_ESCAPE = re.compile(r"\\(.)")


def _forwarded_for(headers: Mapping[str, str]) -> list[str] | None:
    """The ``for=`` node of each element of the ``Forwarded`` header, in order; None without the
    header, or if it does not parse or an element names no ``for``."""
    value = headers.get("forwarded")
    if value is None:
        return None
    nodes: list[str] = []
    node: str | None = None
    pos, end = 0, len(value)
    while pos < end:
        pair = _PAIR.match(value, pos)
        if pair is None:
            return None
        name, raw, comma = pair.groups()
        if name.lower() == "for":
            node = _ESCAPE.sub(r"\1", raw[1:-1]) if raw.startswith('"') else raw
        pos = pair.end()
        if comma is not None or pos == end:
            if node is None:
                return None
            nodes.append(node)
            node = None
    return nodes
