"""The local image store's files: content-addressed, written once, never half-visible.

An upload is copied into a temp file beside the store while md5 (Glance "checksum"), sha512 ("os_hash_value") and
sha256 (the file name) are computed in the same pass (each chunk's three digests in parallel: hashlib lets go of the
GIL, and hashing, not the copy, is what a 1 GiB snapshot waits for); the copy is checked with qemu-img, made 0600 (private, like
everything under the data directory) and linked to images/<sha256>. Linking (not renaming) makes "stored once" atomic: when the name exists already, the other
copy won and ours is dropped. A file a converter already wrote beside the store (a K5 import's qemu-img output) is
adopted the same way: hashed in place, checked, linked. The DB rows pointing at the content belong to the image
service, not here.
"""
from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from nodecompute.filemodes import FILE_MODE, make_dir
from nodecompute.storage import qemu_img
from nodecompute.storage.errors import ImageTooLarge, StorageError

CHUNK_BYTES = 4 << 20
HOLE_BLOCK_BYTES = 64 << 10
ZERO_BLOCK = bytes(HOLE_BLOCK_BYTES)
TEMP_PREFIX = ".incoming-"
SNAPSHOT_TEMP_PREFIX = TEMP_PREFIX + "snapshot-"  # a server's disk copy on its way in (compute/server_images.py)
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
PARALLEL_HASH_BYTES = 1 << 20  # smaller chunks are hashed in the copying thread: a hand-off costs more than it saves
Progress = Callable[[int, int], None]
_hash_pool: ThreadPoolExecutor | None = None
_hash_pool_lock = threading.Lock()


def _hashers() -> ThreadPoolExecutor:
    global _hash_pool
    with _hash_pool_lock:
        if _hash_pool is None:
            _hash_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="image-hash")
        return _hash_pool


@dataclass(frozen=True)
class StoredImage:
    sha256: str
    path: Path
    size: int
    md5: str
    sha512: str
    disk_format: str
    virtual_size: int


class _Stopped(Exception):
    """Raised in the copying thread after the coroutine that started it was cancelled."""


class _HashingWriter:
    """Writes chunks to a file and feeds the three digests, one pass over the data."""

    def __init__(self, target: BinaryIO | None) -> None:
        self.target = target  # None: only hash (a file already in place)
        self.stop = threading.Event()  # set when the caller is cancelled: the copying thread gives up
        self.size = 0
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.sha256 = hashlib.sha256()
        self.sha512 = hashlib.sha512()

    def write(self, chunk: bytes | memoryview) -> None:
        if self.stop.is_set():
            raise _Stopped()
        if self.target is not None:
            self._write_keeping_holes(memoryview(chunk))
        if len(chunk) >= PARALLEL_HASH_BYTES:
            pool = _hashers()
            others = [pool.submit(self.md5.update, chunk), pool.submit(self.sha512.update, chunk)]
            self.sha256.update(chunk)
            for other in others:
                other.result()
        else:
            self.md5.update(chunk)
            self.sha256.update(chunk)
            self.sha512.update(chunk)
        self.size += len(chunk)

    def _write_keeping_holes(self, chunk: memoryview) -> None:
        """All-zero blocks become holes (seek instead of write), so sparse raw images stay sparse in the store."""
        for start in range(0, len(chunk), HOLE_BLOCK_BYTES):
            block = chunk[start:start + HOLE_BLOCK_BYTES]
            if block.tobytes() == ZERO_BLOCK[:len(block)]:  # tobytes: memcmp, not per-item compare
                self.target.seek(len(block), os.SEEK_CUR)
            else:
                self.target.write(block)

    def finish(self) -> None:
        self.target.truncate(self.size)  # a trailing hole still counts towards the size
        self.target.flush()
        os.fsync(self.target.fileno())


def check_sha256(sha256: str) -> str:
    if not SHA256_HEX.fullmatch(sha256):
        raise StorageError(f"not a sha256 hex digest: {sha256!r}")
    return sha256


class ImageFiles:
    def __init__(self, root: Path, *, executor: Executor | None = None) -> None:
        self.images_dir = Path(root).absolute() / "images"
        self.executor = executor

    def path_for(self, sha256: str) -> Path:
        return self.images_dir / check_sha256(sha256)

    async def store_from_path(self, src: Path, declared_format: str | None, *,
                              progress: Progress | None = None) -> StoredImage:
        """Copy a local file into the store. progress(copied, total) is called on the event loop thread."""
        loop = asyncio.get_running_loop()

        def report(copied: int, total: int) -> None:
            if progress is not None:
                loop.call_soon_threadsafe(progress, copied, total)

        async def fill(writer: _HashingWriter) -> None:
            await self._in_thread(writer, _copy_file, Path(src), writer, report)

        return await self._store(fill, declared_format)

    async def store_from_stream(self, chunks: AsyncIterator[bytes], declared_format: str | None, *,
                                max_bytes: int | None) -> StoredImage:
        """Store an upload; more than max_bytes raises ImageTooLarge as soon as the limit is crossed."""

        async def fill(writer: _HashingWriter) -> None:
            pending: list[bytes] = []
            pending_bytes = 0
            async for chunk in chunks:
                if max_bytes is not None and writer.size + pending_bytes + len(chunk) > max_bytes:
                    raise ImageTooLarge(max_bytes)
                pending.append(chunk)
                pending_bytes += len(chunk)
                if pending_bytes >= CHUNK_BYTES:
                    await self._in_thread(writer, writer.write, b"".join(pending))
                    pending, pending_bytes = [], 0
            if pending:
                await self._in_thread(writer, writer.write, b"".join(pending))

        return await self._store(fill, declared_format)

    async def adopt(self, temp: Path, declared_format: str | None) -> StoredImage:
        """Take a finished file that a converter wrote inside the store's directory (a K5 import's qemu-img output)
        into the store: hashed in place, checked like an upload, made private and linked to images/<sha256>. The
        temp name is gone afterwards, whatever happens."""
        temp = Path(temp)
        if temp.parent != self.images_dir or not temp.name.startswith(TEMP_PREFIX):
            raise StorageError(f"{temp} is not a temp file of {self.images_dir}")
        try:
            writer = _HashingWriter(None)
            await self._in_thread(writer, _copy_file, temp, writer, lambda done, total: None)
            found = await qemu_img.check_importable(temp, declared_format)
            temp.chmod(FILE_MODE)
            self._publish(temp, writer.sha256.hexdigest())
        finally:
            temp.unlink(missing_ok=True)
        return self._stored(writer, found)

    def remove_snapshot_partials(self) -> list[Path]:
        """At start: the disk copies of snapshots a stop cut short (the copy itself, or libvirt's backup job's
        partial file beside it). Only those: an `image import` in another process may be writing its own."""
        found = [path for pattern in (f"{SNAPSHOT_TEMP_PREFIX}*", f".partial-{SNAPSHOT_TEMP_PREFIX}*")
                 for path in (self.images_dir.glob(pattern) if self.images_dir.is_dir() else ())]
        for path in found:
            path.unlink(missing_ok=True)
        return found

    async def remove(self, sha256: str) -> None:
        """Drop the content; servers keep working because their base is a hard link (or copy) of it."""
        self.path_for(sha256).unlink(missing_ok=True)

    async def _store(self, fill: Callable[[_HashingWriter], object], declared_format: str | None) -> StoredImage:
        make_dir(self.images_dir)
        fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=self.images_dir)  # 0600
        temp = Path(name)
        try:
            with os.fdopen(fd, "wb") as target:
                writer = _HashingWriter(target)
                await fill(writer)
                await self._in_thread(writer, writer.finish)
            found = await qemu_img.check_importable(temp, declared_format)
            temp.chmod(FILE_MODE)  # private: an image is a tenant's disk
            self._publish(temp, writer.sha256.hexdigest())
        finally:
            temp.unlink(missing_ok=True)
        return self._stored(writer, found)

    def _stored(self, writer: _HashingWriter, found: qemu_img.ImageInfo) -> StoredImage:
        sha256 = writer.sha256.hexdigest()
        return StoredImage(sha256=sha256, path=self.path_for(sha256), size=writer.size, md5=writer.md5.hexdigest(),
                           sha512=writer.sha512.hexdigest(), disk_format=found.format,
                           virtual_size=found.virtual_size)

    def _publish(self, temp: Path, sha256: str) -> None:
        try:
            os.link(temp, self.path_for(sha256))
        except FileExistsError:
            pass  # the same content is stored already: keep that one

    async def _in_thread(self, writer: _HashingWriter, func: Callable, *args: object) -> object:
        """Run file work in a thread; if we are cancelled, stop it and wait, so the temp file is ours to remove."""
        future = asyncio.get_running_loop().run_in_executor(self.executor, func, *args)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            writer.stop.set()
            await asyncio.wait([future])
            raise


def _copy_file(src: Path, writer: _HashingWriter, report: Callable[[int, int], None]) -> None:
    total = src.stat().st_size
    buffer = bytearray(CHUNK_BYTES)
    view = memoryview(buffer)
    with src.open("rb", buffering=0) as source:
        while count := source.readinto(buffer):
            writer.write(view[:count])
            report(writer.size, total)
