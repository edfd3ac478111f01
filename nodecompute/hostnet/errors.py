"""Errors of the host networking adapter. No pyroute2 NetlinkError or OSError from a tool leaves nodecompute.hostnet:
it becomes a HostNetError whose message names the operation and the object (safe to log, not meant for API users).
"""
from __future__ import annotations


class HostNetError(Exception):
    """A host networking operation failed (netlink, a namespace, dnsmasq or nft)."""


class NamespaceStuck(HostNetError):
    """A worker thread could not return to the host's network namespace; the adapter refuses further work."""
