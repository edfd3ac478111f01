"""Errors of the host networking adapter. No pyroute2 NetlinkError or OSError from a tool leaves nodecompute.hostnet:
it becomes a HostNetError whose message names the operation and the object (safe to log, not meant for API users).
"""
from __future__ import annotations


class HostNetError(Exception):
    """A host networking operation failed (netlink, a namespace, dnsmasq or nft)."""


class NamespaceStuck(HostNetError):
    """A worker thread could not return to the host's network namespace; the adapter refuses further work."""


class NftError(Exception):
    """`nft` failed or is missing; `stderr` is nft's own explanation."""

    def __init__(self, message: str, *, argv: tuple[str, ...] = (), returncode: int | None = None,
                 stderr: str = "") -> None:
        self.argv = argv
        self.returncode = returncode
        self.stderr = stderr.strip()
        detail = f" (exit {returncode}): {self.stderr}" if returncode is not None else ""
        super().__init__(message + detail)

    @property
    def no_such_object(self) -> bool:
        return "No such file or directory" in self.stderr
