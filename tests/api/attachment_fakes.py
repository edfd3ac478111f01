"""A stand-in for the attachments' DiskPlug (virt/disk_devices.py) on libvirt's test driver, which has no
hot-plug: it records the calls and keeps each domain's device names."""
from __future__ import annotations

from nodecompute.virt.errors import DomainNotFound


class RecordingPlug:
    """The DiskPlug of these tests: each domain starts with vda (root) and hda (config drive's IDE name)."""

    def __init__(self) -> None:
        self.disks: dict[str, set[str]] = {}
        self.calls: list[tuple[str, ...]] = []
        self.fail_next: Exception | None = None
        self.gone: set[str] = set()  # domains that vanished behind our back
        self.sources: dict[str, dict[str, str]] = {}  # domain -> target -> volume file

    async def used_names(self, domain: str) -> set[str]:
        if domain in self.gone:
            raise DomainNotFound(f"list disks of {domain}: no such domain")
        return set(self.disks.setdefault(domain, {"vda", "hda"}))

    async def plug(self, domain: str, path: str, target: str, serial: str) -> None:
        self.calls.append(("plug", domain, path, target, serial))
        if self.fail_next is not None:
            failure, self.fail_next = self.fail_next, None
            raise failure
        self.disks.setdefault(domain, {"vda", "hda"}).add(target)
        self.sources.setdefault(domain, {})[target] = path

    async def target_of(self, domain: str, path: str) -> str | None:
        if domain in self.gone:
            raise DomainNotFound(f"list disks of {domain}: no such domain")
        return next((target for target, source in self.sources.get(domain, {}).items() if source == path), None)

    async def unplug(self, domain: str, target: str) -> None:
        self.calls.append(("unplug", domain, target))
        if self.fail_next is not None:
            failure, self.fail_next = self.fail_next, None
            raise failure
        self.disks[domain].discard(target)
        self.sources.get(domain, {}).pop(target, None)

    async def move(self, domain: str, target: str, path: str, size_bytes: int) -> None:
        self.calls.append(("move", domain, target, path, size_bytes))
        if self.fail_next is not None:
            failure, self.fail_next = self.fail_next, None
            raise failure
        self.sources.setdefault(domain, {})[target] = path
