"""libnft.py without the kernel: which nft command lines run in-process, and a context that would be made in another
network namespace is refused (nft.py then runs the binary). tests/integration/test_hostnet_nft.py runs it for real."""
from __future__ import annotations

import os
import threading

import pytest

from nodecompute.hostnet import libnft


def test_only_json_commands_run_in_process():
    document = '{"nftables": []}'
    assert libnft.command_for(("-j", "-f", "-"), document) == document
    assert libnft.command_for(("-j", "list", "table", "inet", "t"), None) == "list table inet t"
    assert libnft.command_for(("list", "tables"), None) is None  # not JSON: the binary
    assert libnft.command_for(("-j",), None) is None
    assert libnft.command_for(("-j", "list", "tables"), "stdin for a list") is None


def test_a_context_is_refused_outside_the_processs_network_namespace(monkeypatch):
    real_stat = os.stat

    def stat(path, *args, **kwargs):
        result = real_stat(path, *args, **kwargs)
        if path == "/proc/thread-self/ns/net":
            return os.stat_result((result.st_mode, result.st_ino + 1, *tuple(result)[2:]))
        return result

    monkeypatch.setattr(libnft.os, "stat", stat)
    before = {t.name for t in threading.enumerate()}
    with pytest.raises(OSError, match="another network namespace"):
        libnft.Context(lib=None)  # never called: refused before the library is
    leftover = {t.name for t in threading.enumerate()} - before
    for thread in [t for t in threading.enumerate() if t.name in leftover]:
        thread.join(timeout=5)
    assert not [t for t in threading.enumerate() if t.name in leftover and t.is_alive()]
