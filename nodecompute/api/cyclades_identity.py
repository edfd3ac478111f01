"""/cyclades/identity (dialects.md section 2, "Identity"): the same tokens as /identity, with a catalog that points
at the Cyclades endpoints (compute at /cyclades/compute/v2.0, identity at /cyclades/identity/v3), so a
Synnefo-era client that starts from this identity reaches the Cyclades dialect. The token views are
api/identity.py's with the catalog replaced."""
from __future__ import annotations

from typing import Any

from nodecompute.api import identity
from nodecompute.api.keys import config_key
from nodecompute.api.respond import Out, Reply

SERVICES = (("compute", "cyclades_compute", "/cyclades/compute/v2.0"),
            ("identity", "keystone", "/cyclades/identity/v3"))


def catalog(out: Out) -> list[dict[str, Any]]:
    cfg = out.request.config_dict[config_key]
    entries = []
    for service_type, name, path in SERVICES:
        sid = identity.stable_id(f"nodecompute:cyclades:{service_type}")
        endpoints = [{"id": identity.stable_id(f"{sid}:{iface}"), "interface": iface,
                      "region": cfg.identity.region, "region_id": cfg.identity.region, "url": cfg.public_url + path}
                     for iface in ("public", "internal", "admin")]
        entries.append({"id": sid, "type": service_type, "name": name, "endpoints": endpoints})
    return entries


def _v3(view):
    def with_catalog(out: Out, result: Any) -> Any:
        reply = view(out, result)
        body = reply.body if isinstance(reply, Reply) else reply
        if "catalog" in body["token"]:
            body["token"]["catalog"] = catalog(out)
        return reply
    return with_catalog


def _v2(view):
    def with_catalog(out: Out, result: Any) -> Any:
        reply = view(out, result)
        body = reply.body if isinstance(reply, Reply) else reply
        project = body["access"]["token"]["tenant"]["id"]
        body["access"]["serviceCatalog"] = [{
            "type": entry["type"], "name": entry["name"], "endpoints_links": [],
            "endpoints": [{"region": e["region"], "publicURL": e["url"], "internalURL": e["url"],
                           "adminURL": e["url"], "id": e["id"], "tenantId": project}
                          for e in entry["endpoints"] if e["interface"] == "public"]} for entry in catalog(out)]
        return reply
    return with_catalog


VIEWS = {"#2203": _v3(identity.VIEWS["#2203"]), "#2204": _v3(identity.VIEWS["#2204"]),
         "#2206": _v2(identity.VIEWS["#2206"])}
