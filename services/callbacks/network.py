"""Where a callback may go: a URL is a way into the deployment's network (Railway's private network,
Supabase, the cloud's metadata service), so in production its host must resolve to public addresses
only (CALLBACK_ALLOW_PRIVATE_NETWORKS lifts this). Checked at send time, after DNS, and the request
then goes to the very address that was checked (services.callbacks.delivery), so a name that
resolves elsewhere on the second lookup (DNS rebinding) cannot slip through.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

Resolver = Callable[[str, int], list[str]]


class CallbackRefused(ValueError):
    """The URL may not be called; the message says why (the address and its kind)."""


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to (getaddrinfo), IPv4 and IPv6."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise CallbackRefused(f"{host} does not resolve ({error.strerror})") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def address_problem(address: str) -> str | None:
    """Why an address is inside a private network, or None for a public one."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
    for kind, inside in (
        ("loopback", ip.is_loopback), ("link-local (cloud metadata)", ip.is_link_local),
        ("private", ip.is_private), ("multicast", ip.is_multicast), ("unspecified", ip.is_unspecified),
        ("reserved", ip.is_reserved), ("not globally routable", not ip.is_global),
    ):  # fmt: skip
        if inside:
            return f"{address} is a {kind} address"
    return None


def checked_address(host: str, port: int, *, allow_private: bool, resolve: Resolver = system_resolver) -> str:
    """The address to connect to for `host`: its first, once every address it resolves to is public
    (or private ones are allowed). CallbackRefused naming the first private one otherwise."""
    addresses = resolve(host, port)
    if not addresses:
        raise CallbackRefused(f"{host} resolves to no address")
    if not allow_private:
        for address in addresses:
            if (problem := address_problem(address)) is not None:
                raise CallbackRefused(
                    f"{host} resolves to {problem}: callbacks may not reach the deployment's network"
                    " (CALLBACK_ALLOW_PRIVATE_NETWORKS)"
                )
    return addresses[0]
