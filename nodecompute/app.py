"""The application factory: the root app, its faces, and the resources each cleanup context opens and closes."""
from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from nodecompute import filemodes
from nodecompute.api import access_log, face, faults
from nodecompute.api.dialects.cyclades import CYCLADES, CYCLADES_IDENTITY
from nodecompute.api.dialects.identity import IDENTITY
from nodecompute.api.dialects.helion import HELION, HELION_IDENTITY
from nodecompute.api.dialects.image import IMAGE
from nodecompute.api.dialects.network import NETWORK
from nodecompute.api.dialects.openstack import OPENSTACK
from nodecompute.api.dialects.k5 import K5, K5_IDENTITY, K5_IMAGE, K5_VOLUME
from nodecompute.api.dialects.volume import VOLUME
from nodecompute.api.k5_image_jobs import image_jobs_key
from nodecompute.api.keys import (block_storage_key, clock_key, config_key, consoles_key, diagnostics_key,
                                  flavors_key, host_services_key, identity_key, images_key, keypairs_key,
                                  large_body_gate_key, large_list_gate_key,
                                  mounted_dialects_key, network_key, network_off_key, quotas_key,
                                  reconciler_key, rendered_servers_key, response_cache_key, root_routes_key,
                                  serial_ids_key, server_groups_key, server_passwords_key, server_tags_key, servers_key,
                                  usage_key, volume_attachments_key)
from nodecompute.api.route_table import face_routes
from nodecompute.caching import RenderedItems, VersionedCache
from nodecompute.compute.serial_ids import SerialIds
from nodecompute.config import ComputeConfig, Config, ConfigError
from nodecompute.db import host_services as host_services_db
from nodecompute.db.store import Store
from nodecompute.domain.models import Clock, utcnow
from nodecompute.identity import accounts
from nodecompute.identity.service import IdentityService
from nodecompute.process_tuning import freeze_start_up_objects, release_free_memory

if TYPE_CHECKING:
    from nodecompute.virt.hypervisor import Hypervisor

log = logging.getLogger(__name__)

store_key = web.AppKey("store", Store)  # the services' SQLite store (tests reach it here too; handlers never do)
MAX_BODY_BYTES = 114688  # Nova's osapi_max_request_body_size
RENDERED_SERVERS_KEPT = 4000  # for the server lists, all renderings together (some 2 KB each at the latest version)
SYSTEM_QEMU_GROUP = "libvirt-qemu"  # the group QEMU runs as under qemu:///system (Debian)

def create_app(cfg: Config, *, with_servers: bool = True,
               hypervisor_factory: Callable[[Config], Hypervisor] | None = None,
               hostnet_factory: Callable[[Config], Any] | None = None,
               clock: Clock = utcnow) -> web.Application:
    """The root application: request ids, the faces (compute, identity, image, network, volume; each a
    sub-application with its dialect) and the cleanup contexts that open the services. More faces may be mounted
    until the app starts. `hypervisor_factory` makes the (unopened) hypervisor and `hostnet_factory` the host networking
    adapter; tests hand in a scripted one and a recording one. `clock` (naive UTC now) reaches every service
    through its constructor; tests hand in one they move."""
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[faults.root_middleware])
    app[config_key] = cfg
    app[clock_key] = clock
    app[response_cache_key] = VersionedCache(max_entries=256)
    app[rendered_servers_key] = RenderedItems(max_items=RENDERED_SERVERS_KEPT)
    app[large_list_gate_key] = asyncio.Semaphore(1)
    app[large_body_gate_key] = asyncio.Semaphore(1)
    app.cleanup_ctx.append(_state_ctx)
    app.cleanup_ctx.append(functools.partial(_network_ctx, make_hostnet=hostnet_factory or _hostnet))
    if with_servers:
        app.cleanup_ctx.append(functools.partial(_servers_ctx, make_hypervisor=hypervisor_factory or _hypervisor))
    app[root_routes_key] = face_routes("root")
    for route in app[root_routes_key]:
        app.router.add_route(route.method, route.path, route.handler)
    app[mounted_dialects_key] = (OPENSTACK, IDENTITY, IMAGE, NETWORK, VOLUME, CYCLADES, CYCLADES_IDENTITY,
                                 K5, K5_IDENTITY, K5_IMAGE, K5_VOLUME, HELION_IDENTITY, HELION)
    for dialect in app[mounted_dialects_key]:
        face.mount(app, dialect)
    return app


async def _state_ctx(app: web.Application) -> AsyncIterator[None]:
    """SQLite store, bootstrap admin + clouds.yaml, identity and the API-only services (block storage included:
    its files are qemu-img's, it needs no hypervisor)."""
    from nodecompute.compute.block_storage import block_storage
    from nodecompute.compute.flavors import FlavorService
    from nodecompute.compute.host_services import HostServices
    from nodecompute.compute.server_groups import ServerGroupService
    from nodecompute.compute.usage import UsageService
    from nodecompute.compute.images import ImageService, image_files
    from nodecompute.compute.keypairs import KeypairService
    from nodecompute.compute.quotas import QuotaService
    from nodecompute.compute.server_passwords import ServerPasswordService

    cfg, clock = app[config_key], app[clock_key]
    await asyncio.to_thread(prepare_data_dir, cfg)
    store = Store(cfg.db_path)
    await store.open()
    await store.write(accounts.bootstrap, cfg, clock())
    await store.write(host_services_db.register_services, cfg.host_name, now=clock())
    identity = IdentityService(store, cfg, clock)
    quotas = QuotaService(store, cfg)
    images = ImageService(store, image_files(cfg), cfg, quotas, clock=clock)
    await images.requeue_interrupted_uploads()
    image_jobs = k5_image_jobs(cfg, store, images, clock)
    await image_jobs.resume()
    blocks = block_storage(store, cfg, images, filemodes.guest_dir_access(cfg.libvirt_uri), clock)
    await blocks.start()
    app[store_key] = store
    app[identity_key] = identity
    app[quotas_key] = quotas
    app[flavors_key] = FlavorService(store, clock)
    app[keypairs_key] = KeypairService(store, quotas, clock)
    app[serial_ids_key] = SerialIds(store)  # the helion dialect's integer ids
    app[images_key] = images
    app[block_storage_key] = blocks
    app[host_services_key] = HostServices(store, cfg, clock)
    app[server_groups_key] = ServerGroupService(store, quotas, clock)
    app[usage_key] = UsageService(store, clock)
    app[server_passwords_key] = ServerPasswordService(store)
    app[image_jobs_key] = image_jobs
    log.info("state ready in %s (clouds.yaml written)", cfg.data_dir)
    try:
        yield
    finally:
        await image_jobs.close()
        await blocks.close()
        identity.close()
        await store.close()


def k5_image_jobs(cfg: Config, store: Store, images, clock: Callable[[], datetime]):
    """K5's image import/export jobs (api/k5_image_jobs.py): objects under <[k5] object_root>/<project>/<container>
    (<data_dir>/objects by default, until object storage exists), the jobs in their table (they survive a restart:
    `resume` at start), at most [k5] image_jobs_max_active unfinished at once."""
    from nodecompute.compute.image_job_runner import ImageJobs, JobSettings, ServiceCatalog
    from nodecompute.compute.image_job_table import TableJobStore
    from nodecompute.storage.image_import import HoldOnce
    from nodecompute.storage.object_paths import ObjectRoot

    k5 = cfg.k5
    root = Path(k5.object_root).expanduser() if k5.object_root else cfg.data_dir / "objects"
    settings = JobSettings(max_active=k5.image_jobs_max_active, max_running=k5.image_jobs_max_running)
    return ImageJobs(TableJobStore(store), ServiceCatalog(images), images.files, ObjectRoot(root), settings,
                     clock=clock, throttle=HoldOnce(k5.test_hold_conversions) if k5.test_hold_conversions else None)


def prepare_data_dir(cfg: Config) -> None:
    """Make the data directory, and bring what it holds to its modes (nodecompute.filemodes): the entries the
    daemon owns, recursively; anything else an operator put there is left alone (the directory is 0700 anyway)."""
    guest = filemodes.guest_dir_access(cfg.libvirt_uri)
    filemodes.make_dir(cfg.data_dir, guest)
    access = filemodes.data_dir_access(cfg.data_dir, cfg.instances_dir, guest, cfg.volumes_dir)
    changed = filemodes.apply_dir_access(cfg.data_dir, guest)
    db = cfg.db_path.name
    owned = {db, f"{db}-wal", f"{db}-shm", f"{db}-journal", "clouds.yaml", "admin-password", "libvirt",
             cfg.images_dir.name, cfg.instances_dir.name, cfg.volumes_dir.name}
    for entry in sorted(cfg.data_dir.iterdir()):
        if entry.name in owned:
            changed += filemodes.enforce_tree(entry, access)
    if changed:
        log.warning("tightened the modes of %d files and directories under %s", changed, cfg.data_dir)


def _hostnet(cfg: Config) -> Any:
    from nodecompute import hostnet

    prefix = hostnet.daemon_prefix(cfg.data_dir)
    state_dir = Path(cfg.network.state_dir) if cfg.network.state_dir else Path(f"/run/nodecompute-net-{prefix}")
    return hostnet.HostNet(prefix, state_dir)


async def _network_ctx(app: web.Application, make_hostnet: Callable[[Config], Any]) -> AsyncIterator[None]:
    """The networking service when the host allows it (README "Networking"): its host side restored from the
    database at start. Off (no `network` in the catalog, 503 at /networking) when `[network] enabled` is false, or
    is auto and the host lacks what it needs; with `enabled = true` that stops the daemon instead."""
    from nodecompute.compute.metadata_listeners import MetadataListeners
    from nodecompute.compute.network_services import NetworkServices

    cfg = app[config_key]
    if cfg.network.enabled == "false":
        app[network_off_key] = "[network] enabled = false"
        yield
        return
    net = make_hostnet(cfg)
    try:
        await asyncio.to_thread(net.check)
    except Exception as exc:
        net.close()
        if cfg.network.enabled == "true":
            raise ConfigError(f"[network] enabled = true, but networking cannot run on this host: {exc}") from None
        log.warning("networking is off ([network] enabled = auto): %s", exc)
        app[network_off_key] = str(exc)
        yield
        return
    refusal = await _security_groups_refusal(cfg, net)
    if refusal is not None:
        net.close()
        if cfg.network.enabled == "true":
            raise ConfigError(f"[network] enabled = true, but {refusal}") from None
        log.warning("networking is off ([network] enabled = auto): %s", refusal)
        app[network_off_key] = refusal
        yield
        return
    metadata = _metadata_server(app[store_key], cfg, net)
    await metadata.start()
    listeners = MetadataListeners(net, metadata.serve, metadata.stop)
    services = NetworkServices.make(app[store_key], cfg, net, app[clock_key], listeners)
    try:
        await services.restore()
        await services.firewall.start()
        app[network_key] = services
        app[quotas_key].network = services.quotas  # Nova's network quotas are the networking service's
        log.info("networking on: subnets in %s", ", ".join(cfg.network.subnet_ranges))
        yield
    finally:
        await listeners.close()
        await metadata.close()
        await services.firewall.close()
        net.close()


def _metadata_server(store: Store, cfg: Config, net: Any) -> Any:
    """The metadata service guests reach at 169.254.169.254 (issue 16): instances found by the namespace their
    connection came in and its source address, passwords in the store."""
    from nodecompute.api.metadata_server import MetadataServer
    from nodecompute.api.metadata_service import create_metadata_app
    from nodecompute.compute.metadata_lookup import MetadataLookup
    from nodecompute.compute.server_passwords import StoredPasswords

    lookup = MetadataLookup(store, cfg, dhcp_namespace_start=net.names.dhcp_namespace_start,
                            router_namespace_start=net.names.router_namespace_start)
    return MetadataServer(create_metadata_app(lookup=lookup, passwords=StoredPasswords(store),
                                              namespace_of=net.namespace_of))


async def _security_groups_refusal(cfg: Config, net: Any) -> str | None:
    """Why networking cannot start with security groups on this host (the kernel probe's message), or None. With
    `[network] security_groups = false` the probe is skipped and the guests go unfiltered, which is logged."""
    from nodecompute.hostnet import probe

    if not cfg.network.security_groups:
        log.warning("security groups are off ([network] security_groups = false): guests' traffic is not "
                    "filtered and nothing stops a guest from using another's address")
        return None
    missing = await net.probe_firewall()
    if not missing:
        return None
    return (probe.refusal_message(missing) + ". Set [network] security_groups = false to run networking without "
            "them (guests unfiltered)")


def _hypervisor(cfg: Config) -> Hypervisor:
    from nodecompute.virt.hypervisor import Hypervisor

    return Hypervisor(cfg.libvirt_uri, virt_type=cfg.compute.virt_type)


async def _servers_ctx(app: web.Application, make_hypervisor: Callable[[Config], Hypervisor]) -> AsyncIterator[None]:
    """The hypervisor connection, the server service and its reconciliation tasks."""
    from nodecompute.api.console_listeners import start_listeners
    from nodecompute.compute import placement
    from nodecompute.compute.consoles import ConsoleService
    from nodecompute.compute.guests import Guests
    from nodecompute.compute.reconcile import Reconciler, Redo
    from nodecompute.compute.server_tags import ServerTags
    from nodecompute.compute.server_diagnostics import ServerDiagnostics
    from nodecompute.compute.server_ports import ServerPorts
    from nodecompute.compute.servers import ServerService
    from nodecompute.compute.volume_attach_side import LibvirtDiskPlug, LiveCopier
    from nodecompute.compute.volume_attachments import VolumeAttachments
    from nodecompute.storage.instance_disks import BaseCache
    from nodecompute.storage.overlay_templates import DIR_NAME as OVERLAY_TEMPLATES
    from nodecompute.virt import displays
    from nodecompute.virt.console import ConsoleLogTrimmer
    from nodecompute.virt.host_stats import read_host_stats

    cfg, store, clock = app[config_key], app[store_key], app[clock_key]
    qemu_group = SYSTEM_QEMU_GROUP if cfg.libvirt_uri.startswith("qemu:///system") else None
    display_dir = displays.prepare(displays.socket_dir(cfg.data_dir), qemu_group=qemu_group)
    log.info("VNC displays are UNIX sockets in %s", display_dir)
    if cfg.compute.vnc_listen != ComputeConfig.vnc_listen:
        log.warning("[compute] vnc_listen = %r is ignored: displays are UNIX sockets", cfg.compute.vnc_listen)
    hv = make_hypervisor(cfg)
    await hv.open()
    log.info("libvirt %s open: domain type %s", cfg.libvirt_uri, hv.host.domain_type)
    base_cache = BaseCache(cfg.instances_dir / "_base", cfg.data_dir / OVERLAY_TEMPLATES)
    guests = Guests(cfg, hv, app[images_key].files, base_cache, display_dir)
    # On the path to guest disks: under qemu:///system QEMU (libvirt-qemu) must traverse them (filemodes).
    await asyncio.to_thread(filemodes.make_dir, cfg.instances_dir / "_base", guests.dir_access)
    capacity = placement.host_capacity(cfg.compute, host_vcpus=hv.host.vcpus, host_memory_mb=hv.host.memory_mb,
                                       disk_total=guests.disk_capacity())
    host_services = app[host_services_key]
    host_services.read_stats = functools.partial(read_host_stats, hv, cfg.instances_dir)
    stats = await host_services.read_stats()
    await store.write(host_services_db.register_node, cfg.host_name, stats.hypervisor_hostname, now=clock())
    service = ServerService(store, cfg, guests, capacity=capacity, flavors=app[flavors_key], images=app[images_key],
                            keypairs=app[keypairs_key], quotas=app[quotas_key], clock=clock,
                            host_services=host_services, groups=app[server_groups_key],
                            ports=ServerPorts(store, cfg, app.get(network_key), clock))
    consoles = ConsoleService(store, guests, ttl=cfg.console.token_ttl, clock=clock)
    guests.on_consoles_gone = consoles.revoke  # stop and delete revoke the tokens and close open consoles
    blocks = app[block_storage_key]
    plug = LibvirtDiskPlug(hv, blocks.volumes.files.volumes_dir, cfg.volume.detach_attempts,
                           cfg.volume.detach_wait_seconds)
    attachments = VolumeAttachments(service, blocks, plug, clock)
    blocks.attach_live_copies(LiveCopier(hv, attachments))
    redo = Redo(finish_delete=service.finish_delete, replay=service.actions.replay,
                prune_base_cache=service.prune_base_cache, reclaim=service.reclaim,
                abandon=service.images_of.abandon, settle_resize=service.resizes.settle,
                confirm_resizes=service.resizes.confirm_due, settle_shelve=service.shelves.settle,
                offload_shelved=service.shelves.offload_due, release_volumes=service.release_volumes,
                restart=service.actions.restart)
    own_driver = cfg.libvirt_uri.startswith("qemu:///embed")  # libvirt lives and dies with this process
    reconciler = Reconciler(store, guests, hv, cfg, redo, clock=clock, reap_orphans=own_driver,
                            settle_domains=own_driver)
    trimmer = ConsoleLogTrimmer(lambda: cfg.instances_dir.glob("*/console.log"), cfg.compute.console_log_max_bytes)
    tasks: list[asyncio.Task] = []
    listeners = None
    try:
        await reconciler.at_start()
        listeners = await start_listeners(cfg, consoles)
        await service.ports.reconcile()
        await attachments.at_start()
        trimmer.start()  # its first pass runs at once: logs that grew while the daemon was down are cut back
        tasks = [asyncio.create_task(reconciler.consume_events()), asyncio.create_task(reconciler.periodic()),
                 asyncio.create_task(reconciler.reclaim_periodically()),
                 asyncio.create_task(reconciler.confirm_resizes_periodically()),
                 asyncio.create_task(reconciler.offload_shelved_periodically())]
        app[servers_key] = service
        app[server_tags_key] = ServerTags(store, service)
        app[reconciler_key] = reconciler
        app[volume_attachments_key] = attachments
        app[diagnostics_key] = ServerDiagnostics(store, guests, clock)
        app[consoles_key] = consoles
        yield
    finally:
        if listeners is not None:
            await listeners.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        reconciler.close()
        await trimmer.stop()
        await service.close()
        await hv.close()


async def serve(cfg: Config, app: web.Application, on_ready: Callable[[], None] | None = None,
                stop: asyncio.Event | None = None) -> None:
    """Serve until `stop` is set; call on_ready once the socket listens (sd_notify READY=1)."""
    runner = web.AppRunner(app, access_log_class=access_log.AccessLogger, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host=cfg.server.listen_host, port=cfg.server.listen_port)
        await site.start()
        log.info("listening on %s:%s, public URL %s", cfg.server.listen_host, cfg.server.listen_port, cfg.public_url)
        freeze_start_up_objects()
        await asyncio.get_running_loop().run_in_executor(None, release_free_memory)  # what starting up freed
        if on_ready is not None:
            on_ready()
        await (stop or asyncio.Event()).wait()
    finally:
        await runner.cleanup()
        access_log.flush()
