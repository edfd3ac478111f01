"""Every typed key stored on the aiohttp applications or requests.

Services live on the root application, set by the cleanup contexts of app.py (startup runs before the application
freezes); handlers read them with `request.config_dict[key]`, which also reaches the root from a dialect's
sub-application. A reader (and a type checker) follows each key to its service class. The SQLite store's key is
app.py's own (`nodecompute.app.store_key`): handlers never touch the store, only services do.
"""
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiohttp import web

from nodecompute.api.dialect import Bound, Dialect
from nodecompute.api.routing import Route
from nodecompute.caching import RenderedItems, VersionedCache
from nodecompute.compute.block_storage import BlockStorage
from nodecompute.compute.flavors import FlavorService
from nodecompute.compute.host_services import HostServices
from nodecompute.compute.server_groups import ServerGroupService
from nodecompute.compute.usage import UsageService
from nodecompute.compute.images import ImageService
from nodecompute.compute.keypairs import KeypairService
from nodecompute.compute.server_passwords import ServerPasswordService
from nodecompute.domain.models import AuthContext, Clock
from nodecompute.compute.quotas import QuotaService
from nodecompute.compute.serial_ids import SerialIds
from nodecompute.config import Config
from nodecompute.identity.service import IdentityService

if TYPE_CHECKING:  # these pull in libvirt: only the servers cleanup context imports them at run time
    from nodecompute.compute.consoles import ConsoleService
    from nodecompute.compute.network_services import NetworkServices
    from nodecompute.compute.reconcile import Reconciler
    from nodecompute.compute.server_tags import ServerTags
    from nodecompute.compute.server_diagnostics import ServerDiagnostics
    from nodecompute.compute.servers import ServerService
    from nodecompute.compute.volume_attachments import VolumeAttachments

config_key = web.AppKey("config", Config)
clock_key: web.AppKey[Clock] = web.AppKey("clock")  # create_app's clock: naive UTC now
identity_key = web.AppKey("identity", IdentityService)
quotas_key = web.AppKey("quotas", QuotaService)
flavors_key = web.AppKey("flavors", FlavorService)
server_passwords_key = web.AppKey("server_passwords", ServerPasswordService)  # os-server-password
keypairs_key = web.AppKey("keypairs", KeypairService)
serial_ids_key = web.AppKey("serial_ids", SerialIds)  # integer ids for the vendor dialects
images_key = web.AppKey("images", ImageService)
block_storage_key = web.AppKey("block_storage", BlockStorage)  # volumes, snapshots, types, quotas (/volume)
host_services_key = web.AppKey("host_services", HostServices)  # os-services, os-hypervisors
server_groups_key = web.AppKey("server_groups", ServerGroupService)
usage_key = web.AppKey("usage", UsageService)
servers_key: web.AppKey[ServerService] = web.AppKey("servers")
server_tags_key: web.AppKey[ServerTags] = web.AppKey("server_tags")
reconciler_key: web.AppKey[Reconciler] = web.AppKey("reconciler")
volume_attachments_key: web.AppKey[VolumeAttachments] = web.AppKey("volume_attachments")  # with the servers
diagnostics_key: web.AppKey[ServerDiagnostics] = web.AppKey("diagnostics")
consoles_key: web.AppKey[ConsoleService] = web.AppKey("consoles")  # console URLs and tokens (with the servers)
# the networking service (absent when networking is off on this host; `network_off_key` then says why)
network_key: web.AppKey[NetworkServices] = web.AppKey("network")
network_off_key = web.AppKey("network_off", str)
# rendered bodies of hot lists (the flavor lists), kept until the database changes
response_cache_key = web.AppKey("response_cache", VersionedCache)
# rendered servers, kept for the server lists until the database changes (api/rendered_pages.py)
rendered_servers_key = web.AppKey("rendered_servers", RenderedItems)
# One large list at a time, read and rendered (api/servers.py): each holds some 11 MB while a thousand servers
# render, so lists in flight together would add that much each to the daemon's memory (issue 22).
large_list_gate_key = web.AppKey("large_list_gate", asyncio.Semaphore)
# One large body sent at a time (api/rendered_pages.py): the loop then runs at most one of its chunks between two
# steps of any other request (a token check waits for one chunk, not one chunk of every list in flight).
large_body_gate_key = web.AppKey("large_body_gate", asyncio.Semaphore)

# on each face's sub-application: its dialect, and the table row + version root of each registered aiohttp route
dialect_key = web.AppKey("dialect", Dialect)
bindings_key = web.AppKey("bindings", dict)
# on the root application: the dialects mounted as faces and the root's own rows (GET /openapi.json describes them)
mounted_dialects_key: web.AppKey[tuple[Dialect, ...]] = web.AppKey("mounted_dialects")
root_routes_key: web.AppKey[tuple[Route, ...]] = web.AppKey("root_routes")

request_id_key = web.RequestKey("request_id", str)
bound_key = web.RequestKey("bound", Bound)  # the matched route's row, root and dialect (face middleware)
op_key = web.RequestKey("op", str)  # set by an action dispatcher: the action's operation id, for respond()
context_key = web.RequestKey("context", AuthContext)
api_version_key = web.RequestKey("api_version", tuple)  # (2, 1) on /v2.1; (2, 0) on legacy /v2


def root_app(request: web.Request) -> web.Application:
    """The root application, where the services are: `root_app(request)[key]` is `request.config_dict[key]` for
    a service's key without what config_dict costs per access on a hot path (a chain of the applications built,
    and a miss in the dialect's sub-application first, a KeyError raised and caught in aiohttp)."""
    return request.match_info.apps[0]
