"""A create's ephemeral and swap disks (Nova's blank -> local block device mappings) sized and checked against the
flavor as Nova's compute API does (_volume_size, _get_flavor_defined_bdms, the end of _validate_bdm):

- an ephemeral mapping's volume_size is GiB, the flavor's ephemeral_gb when none is given; their sum may not pass
  the flavor's (InvalidBDMEphemeralSize);
- the swap mapping's volume_size is MiB (Nova's unit for swap), the flavor's swap when none is given; one swap
  at most (InvalidBDMFormat), no bigger than the flavor's (InvalidBDMSwapSize);
- where no mapping of a kind is given, the flavor's own disk of that kind is made beside the mappings' (Nova's
  flavor-defined mappings);
- local disks (the image's root counted) at most max_local_block_devices (Nova's default 3, InvalidBDMLocalsLimit).

A mapping's disk is a qcow2 file of the server's (disk.eph<N>, disk.swap), formatted with its guest_format (Nova's
default without one and without an os_type: vfat) and labelled ephemeral<N> as Nova's libvirt driver does.
"""
from __future__ import annotations

from nodecompute.domain.errors import BadRequest
from nodecompute.domain.models import Flavor
from nodecompute.domain.server_models import BlockDeviceRequest, LocalDisk, flavor_local_disks

GIB, MIB = 1 << 30, 1 << 20
MAX_LOCAL_BLOCK_DEVICES = 3  # Nova's [DEFAULT] max_local_block_devices
DEFAULT_EPHEMERAL_FORMAT = "vfat"  # Nova's _DEFAULT_FILE_SYSTEM (no default_ephemeral_format, no os_type)
EPHEMERAL_TOO_BIG = ("Ephemeral disks requested are larger than the instance type allows. If no size is given in one "
                     "block device mapping, flavor ephemeral size will be used.")
SWAP_TOO_BIG = "Swap drive requested is larger than instance type allows."
MORE_THAN_ONE_SWAP = "Block Device Mapping is Invalid: More than one swap drive requested."
TOO_MANY_LOCAL = "Block Device Mapping is Invalid: You specified more local devices than the limit allows"


def plan_local_disks(blanks: tuple[BlockDeviceRequest, ...], flavor: Flavor, *, image_root: bool
                     ) -> tuple[LocalDisk, ...] | None:
    """The server's ephemeral and swap disks; None when no mapping asks for one (the flavor's own, as before)."""
    ephemerals = [m for m in blanks if m.guest_format != "swap"]
    swaps = [m for m in blanks if m.guest_format == "swap"]
    if sum(_size(m.volume_size, flavor.ephemeral_gb) for m in ephemerals) > flavor.ephemeral_gb:
        raise BadRequest(EPHEMERAL_TOO_BIG)
    if len(swaps) > 1:
        raise BadRequest(MORE_THAN_ONE_SWAP)
    if swaps and _size(swaps[0].volume_size, 0) > flavor.swap:
        raise BadRequest(SWAP_TOO_BIG)
    flavor_disks = flavor_local_disks(0 if ephemerals else flavor.ephemeral_gb, 0 if swaps else flavor.swap)
    if int(image_root) + len(blanks) + len(flavor_disks) > MAX_LOCAL_BLOCK_DEVICES:
        raise BadRequest(TOO_MANY_LOCAL)
    if not blanks:
        return None
    disks = [LocalDisk("ephemeral", f"disk.eph{n}", _size(m.volume_size, flavor.ephemeral_gb) * GIB,
                       m.guest_format or DEFAULT_EPHEMERAL_FORMAT, f"ephemeral{n}", "qcow2", m.device_name,
                       m.disk_bus, m.tag) for n, m in enumerate(ephemerals)]
    disks += [LocalDisk("swap", "disk.swap", _size(m.volume_size, flavor.swap) * MIB, "swap", None, "qcow2",
                        m.device_name, m.disk_bus, m.tag) for m in swaps]
    ordered = sorted(disks + list(flavor_disks), key=lambda disk: disk.kind != "ephemeral")  # ephemerals first
    return tuple(disk for disk in ordered if disk.size_bytes > 0)


def _size(given: int | None, default: int) -> int:
    return int(given) if given else default  # Nova: `volume_size or flavor size`
