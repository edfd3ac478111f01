"""Storage errors.

`InvalidImage` and its subclasses carry a message that is safe to show to an API user ("Image format 'vmdk' is not
supported"); `DiskError` is a tool failure whose stderr is kept for the logs and is not meant for the user.

Every failure of nodecompute.storage leaves it as one of these (the config drive's ConfigDriveError, the object
paths' BadObjectPath/ForeignProject/ObjectUnavailable and the exports' ExportTargetExists included); compute
translates them where it calls storage: compute/images.py (InvalidImage -> 400, ImageTooLarge -> 413), the build
in compute/servers.py (the server's ERROR fault "Build of instance <id> failed: <message>", the traceback in its
details), compute/image_job*.py (the job's error code) and cli_images.py (the command's error line).
"""
from __future__ import annotations


class StorageError(Exception):
    """Any failure of the storage adapter."""


class InvalidImage(StorageError):
    """The image content cannot be used as a disk; the message is safe for the API user."""


class ImageTooLarge(InvalidImage):
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        super().__init__(f"Image is larger than the maximum of {max_bytes} bytes")


class FlavorDiskTooSmall(InvalidImage):
    """Nova's FlavorDiskSmallerThanImage, with the same message."""

    def __init__(self, flavor_size: int, image_size: int) -> None:
        self.flavor_size = flavor_size
        self.image_size = image_size
        super().__init__(
            f"Flavor's disk is too small for requested image. Flavor disk is {flavor_size} bytes, "
            f"image is {image_size} bytes."
        )


class DiskError(StorageError):
    """A disk tool (qemu-img, mkfs.vfat, mkswap) failed; `stderr` is for the logs."""

    def __init__(self, message: str, *, command: tuple[str, ...] = (), returncode: int | None = None,
                 stderr: str = "") -> None:
        self.command = command
        self.returncode = returncode
        self.stderr = stderr
        detail = f" (exit {returncode}): {stderr.strip()}" if returncode is not None else ""
        super().__init__(message + detail)


class InvalidSize(StorageError):
    """A requested disk size that cannot be honoured (smaller than the source, not a grow); safe for the API user."""


class NoSpace(StorageError):
    """Not enough free space where a disk would be written; checked before writing, so nothing was written."""

    def __init__(self, directory: str, needed: int, available: int) -> None:
        self.directory = directory
        self.needed = needed
        self.available = available
        super().__init__(f"Not enough free space in {directory}: {needed} bytes needed, {available} available")
