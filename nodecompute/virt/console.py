"""Guest serial console log: written by QEMU itself, capped by us, readable with or without the daemon.

Choice (checked under qemu:///embed, libvirt 9.0, QEMU 7.2):
- Nova's `<serial type='pty'><log file=... append='off'/>` relies on virtlogd to cap and rotate the log.
  An embedded driver has no virtlogd (it even fails to start a domain until qemu.conf says
  stdio_handler = "file", see embed.py), and a `<log>` without virtlogd is an uncapped file anyway.
- So the domain uses `<serial type='file'><source path=console.log append='on'/>`. libvirt opens the file
  itself and hands QEMU the descriptor with O_APPEND (seen in /proc/<pid>/fdinfo: flags 02106001), which makes
  truncating it from outside safe: QEMU's next write lands at the new end, with no hole.
- The cap is `trim_console_log`: when console.log is larger than max_bytes, its last max_bytes move to
  console.log.0 (replacing the previous one) and console.log is truncated. On disk a guest holds at most
  max_bytes in console.log.0 plus what it writes to console.log between two trims. `ConsoleLogTrimmer` runs
  it every few seconds for every log the service lists; the service should also run it once at start-up.
- The file keeps growing while the daemon is down (QEMU writes on); the first trim after start-up cuts it back,
  reading only its last max_bytes, so a huge file costs no more than a small one.
- Bytes written between a trim's read and its truncate (microseconds) are lost.
- `read_console_tail` returns the last max_bytes over console.log.0 + console.log, as Nova reads console.log
  and its rotated parts.
"""
from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from nodecompute.filemodes import open_new

log = logging.getLogger(__name__)

DEFAULT_TRIM_INTERVAL = 5.0


def rotated_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".0")


def read_console_tail(path: str | os.PathLike, max_bytes: int) -> str:
    """The last max_bytes of the console output (rotated part first), decoded as UTF-8 with replacement."""
    older = _tail_bytes(rotated_path(path), max_bytes)
    current = _tail_bytes(Path(path), max_bytes)
    data = (older + current)[-max_bytes:] if max_bytes > 0 else b""
    return data.decode("utf-8", errors="replace")


def trim_console_log(path: str | os.PathLike, max_bytes: int) -> int:
    """Cap console.log at max_bytes: keep its tail in console.log.0, empty it. Returns the bytes it removed."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return 0
    if size <= max_bytes:
        return 0
    rotated = rotated_path(path)
    partial = rotated.with_name(rotated.name + ".tmp")
    with open(path, "rb") as src, open_new(partial) as dst:
        src.seek(max(0, size - max_bytes))
        dst.write(src.read(max_bytes))
        dst.write(src.read())  # whatever the guest wrote since the stat
        end = src.tell()
    os.replace(partial, rotated)
    os.truncate(path, 0)
    return end


def _tail_bytes(path: Path, max_bytes: int) -> bytes:
    if max_bytes <= 0:
        return b""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - max_bytes))
            return f.read(max_bytes)
    except FileNotFoundError:
        return b""


class ConsoleLogTrimmer:
    """Runs trim_console_log over `list_logs()` every `interval` seconds, in a worker thread."""

    def __init__(self, list_logs: Callable[[], Iterable[Path]], max_bytes: int,
                 interval: float = DEFAULT_TRIM_INTERVAL) -> None:
        self._list_logs = list_logs
        self.max_bytes = max_bytes
        self.interval = interval
        self._task: asyncio.Task | None = None

    async def trim_once(self) -> int:
        return await asyncio.to_thread(self._trim_all)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="console-log-trimmer")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                await self.trim_once()
            except Exception:
                log.exception("console log trim failed")
            await asyncio.sleep(self.interval)

    def _trim_all(self) -> int:
        removed = 0
        for path in list(self._list_logs()):
            try:
                removed += trim_console_log(path, self.max_bytes)
            except OSError as exc:
                log.warning("cannot trim console log %s: %s", path, exc)
        return removed
