"""nftables in the daemon's own process: Debian's libnftables (package libnftables1, which `nft` itself is built on
and which the nftables package brings) through ctypes.

`nft -j -f -` run as a subprocess costs 2-8 ms per transaction on the 2-core test hosts (the daemon forked, nft
started, its libraries loaded), against ~0.1 ms for the same JSON through the library; a build runs one per port
it binds. The commands, their JSON and their error text are nft's own (nft's command-line tool is a thin shell
around the same calls: `nft_run_cmd_from_buffer` with JSON output on), so nft.py keeps one code path for both.

One context, made on and used only from one dedicated thread: a context is not thread-safe, and its netlink socket
belongs to the network namespace of the thread that made it; this thread never enters another namespace (nft.py
runs namespaced commands as `ip netns exec ... nft`). The library's ruleset cache is checked against the kernel's
generation id on each command (changes by other processes are seen), as for firewalld's long-lived context.
`host_context()` is None where the library cannot be loaded: nft.py then runs the nft binary.
"""
from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from nodecompute.hostnet.errors import NftError

log = logging.getLogger(__name__)

LIBRARY = "libnftables.so.1"
NFT_CTX_DEFAULT = 0
NFT_CTX_OUTPUT_JSON = 1 << 4  # nftables' libnftables.h: what `nft -j` sets


class Context:
    """One libnftables context on its own thread: `run(command)` -> the command's output (JSON for lists)."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        self._lib = lib
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nft")
        try:
            self._ctx = self._executor.submit(self._make).result()
        except BaseException:
            self._executor.shutdown(wait=False)
            raise

    def _make(self) -> ctypes.c_void_p:
        if os.stat("/proc/thread-self/ns/net").st_ino != os.stat("/proc/self/ns/net").st_ino:
            raise OSError("the thread was started inside another network namespace")  # its socket would be there
        ctx = self._lib.nft_ctx_new(NFT_CTX_DEFAULT)
        if not ctx:
            raise OSError("nft_ctx_new failed")
        self._lib.nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON)
        if self._lib.nft_ctx_buffer_output(ctx) or self._lib.nft_ctx_buffer_error(ctx):
            self._lib.nft_ctx_free(ctx)
            raise OSError("libnftables cannot buffer its output")
        self._lib.nft_run_cmd_from_buffer(ctx, b"list tables")  # every socket it uses is open after one command
        self._lib.nft_ctx_get_output_buffer(ctx), self._lib.nft_ctx_get_error_buffer(ctx)  # (emptied)
        return ctx

    def _run(self, command: str, args: tuple[str, ...]) -> str:
        lib, ctx = self._lib, self._ctx
        failed = lib.nft_run_cmd_from_buffer(ctx, command.encode())
        out = (lib.nft_ctx_get_output_buffer(ctx) or b"").decode(errors="replace")
        err = (lib.nft_ctx_get_error_buffer(ctx) or b"").decode(errors="replace")
        if failed:  # as the nft binary says it: exit 1, the library's error text
            raise NftError("nft " + " ".join(args) + " failed", argv=("libnftables", *args), returncode=1, stderr=err)
        return out

    async def run(self, command: str, args: tuple[str, ...], timeout: float) -> str:
        """Run one command (a JSON document is one transaction) on the context's thread; `args` are nft's for it,
        for the error. A caller cancelled or out of time stops waiting; the command runs to its end (the kernel
        takes a transaction whole or not at all)."""
        future = asyncio.get_running_loop().run_in_executor(self._executor, self._run, command, args)
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except asyncio.TimeoutError as exc:
            raise NftError(f"nft did not finish within {timeout:g} s", argv=("libnftables", *args)) from exc


def _sockets() -> set[tuple[int, str]]:
    """(fd, "socket:[inode]") of the process's open sockets."""
    found = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:  # the listing's own fd, or closed meanwhile
            continue
        if target.startswith("socket:"):
            found.add((int(name), target))
    return found


def _close_on_exec(sockets: set[tuple[int, str]]) -> None:
    """The library opens its netlink socket without close-on-exec (and gives no handle on it): set it on the sockets
    that appeared while it was loaded and its context made, so no child of the daemon inherits one (Python's own are
    not inheritable already)."""
    for fd, _target in sockets:
        try:
            os.set_inheritable(fd, False)
        except OSError:  # closed meanwhile
            continue


def command_for(args: tuple[str, ...], stdin: str | None) -> str | None:
    """What the library runs for `nft ARGS`: for `-j -f -` the JSON document given on stdin, for `-j WORDS...` the
    words; None for anything else (the binary runs it)."""
    if args[:1] != ("-j",) or len(args) < 2:
        return None
    if args[1:] == ("-f", "-"):
        return stdin
    return " ".join(args[1:]) if stdin is None else None


_lock = threading.Lock()
_context: Context | None = None
_tried = False


def host_context() -> Context | None:
    """The process's context in the host's network namespace, made on first use; None without the library."""
    global _context, _tried
    with _lock:
        if not _tried:
            _tried = True
            before = _sockets()
            try:
                _context = Context(_load())
                _close_on_exec(_sockets() - before)
            except OSError as exc:
                log.info("libnftables is not usable (%s): nftables commands run the nft binary", exc)
        return _context


def _load() -> ctypes.CDLL:
    lib = ctypes.CDLL(LIBRARY)
    lib.nft_ctx_new.restype = ctypes.c_void_p
    lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
    lib.nft_ctx_free.argtypes = [ctypes.c_void_p]
    lib.nft_ctx_output_set_flags.argtypes = [ctypes.c_void_p, ctypes.c_uint]
    for name in ("nft_ctx_buffer_output", "nft_ctx_buffer_error"):
        getattr(lib, name).argtypes = [ctypes.c_void_p]
        getattr(lib, name).restype = ctypes.c_int
    for name in ("nft_ctx_get_output_buffer", "nft_ctx_get_error_buffer"):
        getattr(lib, name).argtypes = [ctypes.c_void_p]
        getattr(lib, name).restype = ctypes.c_char_p
    lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.nft_run_cmd_from_buffer.restype = ctypes.c_int
    return lib
