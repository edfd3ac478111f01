"""What the L3 API tests share: a configuration with an external network (203.0.113.0/24, TEST-NET-3, pool .10-.20,
the upstream router at .1) and a client of the network face with router and floating IP helpers."""
from __future__ import annotations

import dataclasses
from typing import Any

from nodecompute.config import Config
from tests.api.helpers import Net

EXTERNAL_CIDR = "203.0.113.0/24"
EXTERNAL_POOL = ("203.0.113.10-203.0.113.20",)


def with_external(cfg: Config, **keys: Any) -> Config:
    network = dataclasses.replace(cfg.network, external_cidr=EXTERNAL_CIDR, external_pool=EXTERNAL_POOL, **keys)
    return dataclasses.replace(cfg, network=network)


class L3(Net):
    """Net with routers, interfaces and floating IPs."""

    async def external(self) -> dict:
        networks = (await self.ok("GET", "/networks?router:external=True"))["networks"]
        (found,) = networks
        return found

    async def router(self, name: str = "r", **attrs: Any) -> dict:
        return (await self.ok("POST", "/routers", 201, json={"router": {"name": name, **attrs}}))["router"]

    async def gateway_router(self, name: str = "r") -> dict:
        return await self.router(name, external_gateway_info={"network_id": (await self.external())["id"]})

    async def add_interface(self, router_id: str, **info: str) -> dict:
        return await self.ok("PUT", f"/routers/{router_id}/add_router_interface", json=info)

    async def floatingip(self, **attrs: Any) -> dict:
        body = {"floatingip": {"floating_network_id": (await self.external())["id"], **attrs}}
        return (await self.ok("POST", "/floatingips", 201, json=body))["floatingip"]

    async def lab(self, cidr: str, name: str = "lab") -> tuple[dict, dict, dict]:
        """A network with a subnet plugged into a router whose gateway is on the external network."""
        network = await self.network(name)
        subnet = await self.subnet(network["id"], cidr)
        router = await self.gateway_router(name + "-router")
        await self.add_interface(router["id"], subnet_id=subnet["id"])
        return network, subnet, router
