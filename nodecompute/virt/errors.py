"""Errors of the libvirt adapter. No libvirt.libvirtError leaves nodecompute.virt: it becomes one of these.

The message names the operation, the domain and libvirt's own text: safe to log, not meant for API users.
"""
from __future__ import annotations


class HypervisorError(Exception):
    """A libvirt operation failed (or the connection could not be made)."""


class DomainNotFound(HypervisorError):
    """The named domain does not exist (libvirt VIR_ERR_NO_DOMAIN)."""
