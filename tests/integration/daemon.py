"""The real daemon as a subprocess: bench/daemon_util.py (shared with the benchmarks, which import no test module)."""
from bench.daemon_util import TEST_RANGE, Daemon, free_port, qemu_pids_under

__all__ = ["TEST_RANGE", "Daemon", "free_port", "qemu_pids_under"]
