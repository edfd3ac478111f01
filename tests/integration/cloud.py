"""Driving a running daemon through HTTP: bench/cloud_util.py (shared with the benchmarks, which import no test
module)."""
from bench.cloud_util import BOOT_TIMEOUT, GUEST_IMAGE, Cloud, GuestReport, b64, guest_image, guest_lines, sha256

__all__ = ["BOOT_TIMEOUT", "GUEST_IMAGE", "Cloud", "GuestReport", "b64", "guest_image", "guest_lines", "sha256"]
