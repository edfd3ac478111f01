"""Helion's discovery documents (dialects.md D1, D3, and the catalogue of operations.md #2206): the v2.0 version
document at /helion/v2, the versions list at /helion/, the extension list with exactly the 26 aliases of Helion's
`GET /extensions` payload (seed 002, section 4.4.1.2; its spellings, namespaces and dates, each alias once), and the
Keystone v2.0 token answer at /helion/identity whose compute entry has Helion's `versionId`/`versionInfo`/
`versionList` fields.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from aiohttp import web

from nodecompute.api import identity
from nodecompute.api.keys import config_key
from nodecompute.api.respond import Out, respond
from nodecompute.api.urls import base_url
from nodecompute.domain.errors import NotFound

HELION_UPDATED = "2011-01-21T11:33:21Z"
DEVGUIDE = "http://docs.openstack.org/api/openstack-compute/2/os-compute-devguide-2.pdf"
WADL = "http://docs.openstack.org/api/openstack-compute/2/wadl/os-compute-2.wadl"
MEDIA_TYPES = [
    {"base": "application/xml", "type": "application/vnd.openstack.compute+xml;version=2"},
    {"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2"},
]
EXT_NS = "http://docs.openstack.org/compute/ext/"


class HelionExtension(NamedTuple):
    alias: str
    name: str
    updated: str
    namespace: str
    description: str


def _ext(alias: str, name: str, day: str, namespace: str, description: str) -> HelionExtension:
    return HelionExtension(alias, name, f"{day}T00:00:00+00:00", EXT_NS + namespace, description)


# The seed's payload, in its order. Its `os-user-data` namespace has a stray space ("v1. 1"), dropped here.
EXTENSIONS: tuple[HelionExtension, ...] = (
    _ext("OS-EXT-AZ", "ExtendedAvailabilityZone", "2013-01-30", "extended_availability_zone/api/v2",
         "Extended Server Attributes support."),
    _ext("OS-EXT-IMG-SIZE", "ImageSize", "2013-02-19", "image_size/api/v1.1",
         "Adds image size to image listings."),
    _ext("OS-EXT-IPS", "ExtendedIps", "2013-01-06", "extended_ips/api/v1.1",
         "Adds type parameter to the ip list."),
    _ext("OS-EXT-IPS-MAC", "ExtendedIpsMac", "2013-03-07", "extended_ips_mac/api/v1.1",
         "Adds mac address parameter to the ip list."),
    _ext("OS-EXT-STS", "ExtendedStatus", "2011-11-03", "extended_status/api/v1.1",
         "Extended Status support."),
    _ext("OS-FLV-EXT-DATA", "FlavorExtraData", "2011-09-14", "flavor_extra_data/api/v1.1",
         "Provide additional data for flavors."),
    _ext("OS-SCH-HNT", "SchedulerHints", "2011-07-19", "scheduler-hints/api/v2",
         "Pass arbitrary key/value pairs to the scheduler."),
    _ext("os-availability-zone", "AvailabilityZone", "2012-12-21", "availabilityzone/api/v1.1",
         "1. Add availability_zone to the Create Server v1.1 API. 2. Add availability zones describing."),
    _ext("os-config-drive", "ConfigDrive", "2012-07-16", "config_drive/api/v1.1",
         "Config Drive Extension."),
    _ext("os-console-output", "ConsoleOutput", "2011-12-08", "os-console-output/api/v2",
         "Console log output support, with tailing ability."),
    _ext("os-consoles", "Consoles", "2011-12-23", "os-consoles/api/v2",
         "Interactive Console support."),
    _ext("os-create-server-ext", "Createserverext", "2011-07-19", "createserverext/api/v1.1",
         "Extended support to the Create Server v1.1 API."),
    _ext("os-extended-floating-ips", "ExtendedFloatingIps", "2013-04-19", "extended_floating_ips/api/v2",
         "Adds optional fixed_address to the add floating IP command."),
    _ext("os-flavor-rxtx", "FlavorRxtx", "2012-08-29", "flavor_rxtx/api/v1.1",
         "Support to show the rxtx status of a flavor."),
    _ext("os-flavor-swap", "FlavorSwap", "2012-08-29", "flavor_swap/api/v1.1",
         "Support to show the swap status of a flavor."),
    _ext("os-floating-ips", "FloatingIps", "2011-06-16", "floating_ips/api/v1.1",
         "Floating IPs support."),
    _ext("os-hide-server-addresses", "HideServerAddresses", "2012-12-11", "hide_server_addresses/api/v1.1",
         "Support hiding server addresses in certain states."),
    _ext("os-instance-actions", "InstanceActions", "2013-02-08", "instance-actions/api/v1.1",
         "View a log of actions and events taken on an instance."),
    _ext("os-keypairs", "Keypairs", "2011-08-08", "keypairs/api/v1.1",
         "Keypair Support."),
    _ext("os-multiple-create", "MultipleCreate", "2012-08-07", "multiplecreate/api/v1.1",
         "Allow multiple create in the Create Server v1.1 API."),
    _ext("os-rescue", "Rescue", "2011-08-18", "rescue/api/v1.1",
         "Instance rescue mode."),
    _ext("os-security-groups", "SecurityGroups", "2013-05-28", "securitygroups/api/v1.1",
         "Security group support."),
    _ext("os-server-start-stop", "ServerStartStop", "2012-01-23", "servers/api/v1.1",
         "Start/Stop instance compute API support."),
    _ext("os-used-limits", "UsedLimits", "2012-07-13", "used_limits/api/v1.1",
         "Provide data on limited resources that are being used."),
    _ext("os-user-data", "UserData", "2012-08-07", "userdata/api/v1.1",
         "Add user_data to the Create Server v1.1 API."),
    _ext("os-volumes", "Volumes", "2011-03-25", "volumes/api/v1.1",
         "Volumes support."),
)


def _version(root: str) -> dict[str, Any]:
    return {"id": "v2.0", "status": "CURRENT", "updated": HELION_UPDATED,
            "links": [{"href": f"{root}/v2/", "rel": "self"},
                      {"href": DEVGUIDE, "rel": "describedby", "type": "application/pdf"},
                      {"href": WADL, "rel": "describedby", "type": "application/vnd.sun.wadl+xml"}],
            "media-types": [dict(media) for media in MEDIA_TYPES]}


def _root(out: Out) -> str:
    return f"{base_url(out.request)}{out.dialect.prefix}"


async def show_version(request: web.Request) -> web.StreamResponse:
    """`/helion/v2[/]` (the version document) and `/helion/` (the list of versions): the route's operation picks."""
    return respond(request)


def _extension_view(ext: HelionExtension) -> dict[str, Any]:
    return {"alias": ext.alias, "description": ext.description, "links": [], "name": ext.name,
            "namespace": ext.namespace, "updated": ext.updated}


async def list_extensions(request: web.Request) -> web.StreamResponse:
    return respond(request, EXTENSIONS)


async def show_extension(request: web.Request) -> web.StreamResponse:
    alias = request.match_info["alias"]
    found = next((ext for ext in EXTENSIONS if ext.alias == alias), None)
    if found is None:
        raise NotFound()
    return respond(request, found)


def catalog(request: web.Request, project_id: str) -> list[dict[str, Any]]:
    """The v2.0 service catalogue a Helion-era client reads: compute points at /helion/v2/<project> with Helion's
    version fields (seed 002 section 3.3); the other services are the openstack catalogue's."""
    cfg = request.config_dict[config_key]
    region = cfg.identity.region
    compute_root = f"{cfg.public_url}/helion"
    entries: list[dict[str, Any]] = [{
        "name": "Compute", "type": "compute",
        "endpoints": [{"tenantId": project_id, "publicURL": f"{compute_root}/v2/{project_id}", "region": region,
                       "versionId": "2", "versionInfo": f"{compute_root}/v2/", "versionList": compute_root}],
        "endpoints_links": [],
    }]
    for entry in identity.catalog(request, project_id):
        if entry["type"] == "compute":
            continue
        url = next(e["url"] for e in entry["endpoints"] if e["interface"] == "public")
        if entry["type"] == "identity":
            url = f"{cfg.public_url}/helion/identity/v2.0"
        entries.append({"name": entry["name"], "type": entry["type"], "endpoints_links": [],
                        "endpoints": [{"tenantId": project_id, "publicURL": url, "region": region}]})
    return entries


def _access_view(out: Out, result: Any) -> dict[str, Any]:
    """Keystone's v2.0 token answer (the same token as /identity) with the Helion catalogue."""
    body = identity.VIEWS["#2206"](out, result)
    body["access"]["serviceCatalog"] = catalog(out.request, result[1].project_id)
    return body


VIEWS = {
    "helion:versions": lambda out, _: {"versions": [_version(_root(out))]},
    "helion:version": lambda out, _: {"version": _version(_root(out))},
    "#104": lambda out, found: {"extensions": [_extension_view(ext) for ext in found]},
    "#105": lambda out, ext: {"extension": _extension_view(ext)},
}
IDENTITY_VIEWS = {"#2206": _access_view}
