"""The real daemon as a subprocess: bench/daemon_util.py (shared with the benchmarks, which import no test module)."""
from bench.daemon_util import Daemon, free_port, qemu_pids_under

__all__ = ["Daemon", "free_port", "qemu_pids_under"]
