"""Errors of the libvirt adapter. No libvirt.libvirtError leaves nodecompute.virt: it becomes one of these.

The message names the operation, the domain and libvirt's own text: safe to log, not meant for API users.
"""
from __future__ import annotations


class HypervisorError(Exception):
    """A libvirt operation failed (or the connection could not be made)."""


class DomainNotFound(HypervisorError):
    """The named domain does not exist (libvirt VIR_ERR_NO_DOMAIN)."""


class DomainNotRunning(HypervisorError):
    """The operation needs a running (or paused) domain: a stopped one's disks are files for qemu-img."""


class DiskNotFound(HypervisorError):
    """No disk with that target device in the domain (Nova's DeviceNotFound text)."""

    def __init__(self, device: str) -> None:
        self.device = device
        super().__init__(f"Device '{device}' not found.")


class InvalidDevicePath(HypervisorError):
    """A requested device name that cannot be used; the message is Nova's and safe for the API user."""

    def __init__(self, path: str, *, in_use: bool = False) -> None:
        self.path = path
        self.in_use = in_use
        super().__init__(f"The supplied device path ({path}) is {'in use' if in_use else 'invalid'}.")


class DeviceStillAttached(HypervisorError):
    """The guest did not let go of a hot-unplugged device after every retry (Nova's DeviceDetachFailed)."""

    def __init__(self, device: str, reason: str) -> None:
        self.device = device
        super().__init__(f"Device detach failed for {device}: {reason}")


class BlockJobFailed(HypervisorError):
    """A backup or block copy job failed, was aborted or timed out; its partial target is gone."""


class TooManyDisks(HypervisorError):
    """No free device name within the limit (Nova's TooManyDiskDevices text)."""

    def __init__(self, maximum: int) -> None:
        self.maximum = maximum
        super().__init__(f"The maximum allowed number of disk devices ({maximum}) to attach to a single instance "
                         "has been exceeded.")


class AgentUnresponsive(HypervisorError):
    """The guest agent did not answer (libvirt VIR_ERR_AGENT_UNRESPONSIVE: not connected, or no reply)."""
