"""Placement on this one host: does the server fit its flavor, the project's quota, the injection limits and the
host (Nova's _validate_flavor_image_nostatus, quota count, injected-file limits and the scheduler's filters).

Pure apart from the quota service's reads: the host's capacity comes in as a HostCapacity (app.py makes it from
the hypervisor's host record, the instances file system and [compute] max_*), and the usage as numbers.
"""
from __future__ import annotations

from dataclasses import dataclass

from nodecompute.compute.quotas import QuotaService
from nodecompute.config import ComputeConfig
from nodecompute.domain.errors import BadRequest, Forbidden, QuotaExceeded
from nodecompute.domain.image_models import Image
from nodecompute.domain.models import AuthContext, Flavor
from nodecompute.domain.server_models import InjectedFileSpec

GIB = 1 << 30
CPU_ALLOCATION_RATIO = 4.0  # Nova's initial_cpu_allocation_ratio
RESERVED_HOST_MEMORY_MB = 512  # Nova's reserved_host_memory_mb
ZERO_DISK_FLAVOR = "Only volume-backed servers are allowed for flavors with zero disk."


@dataclass(frozen=True)
class HostCapacity:
    """What the scheduler may hand out on this host, in all."""

    vcpus: int
    memory_mb: int
    disk_bytes: int  # root + ephemeral + swap of every server


@dataclass(frozen=True)
class HostUsage:
    cores: int
    ram: int  # MiB
    disk: int  # bytes


def host_capacity(compute: ComputeConfig, *, host_vcpus: int, host_memory_mb: int, disk_total: int) -> HostCapacity:
    """[compute] max_* where set, else the host's CPUs x the allocation ratio, its memory less the reserve, and
    the size of the file system holding the instance disks (Nova's DISK_GB inventory)."""
    return HostCapacity(
        vcpus=compute.max_vcpus or int(host_vcpus * CPU_ALLOCATION_RATIO),
        memory_mb=compute.max_memory_mb or host_memory_mb - RESERVED_HOST_MEMORY_MB,
        disk_bytes=compute.max_disk_gb * GIB or disk_total,
    )


def host_has_room(capacity: HostCapacity, used: HostUsage) -> bool:
    """`used` counts the server being placed beside every earlier one (db.servers.host_usage)."""
    return used.cores <= capacity.vcpus and used.ram <= capacity.memory_mb and used.disk <= capacity.disk_bytes


def room_for(capacity: HostCapacity, used: HostUsage, flavor: Flavor, root_is_volume: bool = False) -> bool:
    """Whether one more server of `flavor` fits beside what `used` counts (every live server); a volume-backed
    server takes no local root disk (Nova asks placement for no root DISK_GB then)."""
    disk = (0 if root_is_volume else flavor.root_gb * GIB) + flavor.ephemeral_gb * GIB + flavor.swap * 1024 * 1024
    return host_has_room(capacity, HostUsage(cores=used.cores + flavor.vcpus, ram=used.ram + flavor.memory_mb,
                                             disk=used.disk + disk))


def check_fit(ctx: AuthContext, flavor: Flavor, image: Image) -> None:
    """Nova's _validate_flavor_image_nostatus for an image-backed server."""
    if image.min_ram > flavor.memory_mb:
        raise BadRequest("Flavor's memory is too small for requested image.")
    if flavor.root_gb:
        flavor_bytes = flavor.root_gb * GIB
        if image.min_disk > flavor.root_gb:
            raise BadRequest(f"Flavor's disk is too small for requested image. Flavor disk is {flavor_bytes} bytes, "
                             f"minimum requested disk is {image.min_disk * GIB} bytes.")
        if (image.virtual_size or 0) > flavor_bytes:
            raise BadRequest(f"Flavor's disk is too small for requested image. Flavor disk is {flavor_bytes} bytes, "
                             f"image is {image.virtual_size} bytes.")
    elif not ctx.is_admin:
        # os_compute_api:servers:create:zero_disk_flavor (admin only): the root disk would be the image's
        # virtual size, whatever it is. Admins get that, and the host's disk room counts it.
        raise Forbidden(ZERO_DISK_FLAVOR)


def check_memory_fit(flavor: Flavor, image) -> None:
    """A volume-backed server (Nova's _validate_flavor_image_nostatus with a volume root): only min_ram counts."""
    if image.min_ram > flavor.memory_mb:
        raise BadRequest("Flavor's memory is too small for requested image.")


def check_metadata_count(limits: dict[str, int], count: int) -> None:
    """metadata_items is a per-server limit: the count is checked alone, nothing else is 'used'."""
    allowed = limits["metadata_items"]
    if allowed >= 0 and count > allowed:
        raise QuotaExceeded(resource="metadata_items", req=count, used=0, allowed=allowed)


def check_injection_limits(limits: dict[str, int], metadata_count: int,
                           files: tuple[InjectedFileSpec, ...]) -> None:
    """Metadata items and personality files against the project's limits (-1: unlimited), Nova's messages."""
    check_metadata_count(limits, metadata_count)
    if limits["injected_files"] >= 0 and len(files) > limits["injected_files"]:
        raise QuotaExceeded("Personality file limit exceeded")
    path_max, content_max = limits["injected_file_path_bytes"], limits["injected_file_content_bytes"]
    for spec in files:
        if path_max >= 0 and len(spec.path.encode()) > path_max:
            raise QuotaExceeded(f"Personality file path exceeds maximum {path_max}")
        if content_max >= 0 and len(spec.contents) > content_max:
            raise QuotaExceeded(f"Personality file content exceeds maximum {content_max}")


def count_within_quota(quotas: QuotaService, ctx: AuthContext, flavor: Flavor, min_count: int,
                       max_count: int) -> int:
    """How many of min_count..max_count servers the project's quota takes; refused below min_count."""
    per_instance = {"instances": 1, "cores": flavor.vcpus, "ram": flavor.memory_mb}
    room = quotas.headroom(ctx.project_id, ctx.user_id, per_instance)
    if room < min_count:
        # Let the quota service word the refusal for the resource that ran out (Nova's message).
        quotas.check(ctx.project_id, ctx.user_id, {k: v * min_count for k, v in per_instance.items()})
        raise QuotaExceeded("Quota exceeded for instances: Requested %d, but already used and reserved more "
                            "than allowed" % min_count)
    return min(max_count, room)
