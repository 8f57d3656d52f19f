"""DNS as a dict, for the public-address guards' tests: no network, every lookup noted."""

from __future__ import annotations

import socket

from aiohttp.abc import AbstractResolver, ResolveResult


class NamesResolver(AbstractResolver):
    """DNS as a dict: a name to the addresses it resolves to (no network)."""

    def __init__(self, names: dict[str, list[str]]) -> None:
        self.names = names
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for address in self.names[host]
        ]

    async def close(self) -> None:
        pass
