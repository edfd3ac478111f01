"""What the host's OS says about itself, for the hypervisor views (os-hypervisors): uptime text, memory in use,
the data directory's filesystem, the host's address. No libvirt here; it sits in virt because it describes the
hypervisor host, next to host_stats.py which combines it with libvirt's facts.

Each reader has a pure parser beside it (tests feed them sample text). Sources, as upstream does it:
- `uptime` text: procps-ng 4.0.2's (Debian 12) `procps_uptime_sprint`, which Nova's libvirt driver returns by
  running `env LANG=C uptime` (get_host_uptime): local time, days/hours/minutes from /proc/uptime, users counted
  in utmp (USER_PROCESS entries with a user name), load averages from /proc/loadavg printed with %.2f.
  Nova's text keeps uptime's trailing newline; `uptime_text` returns the line without it.
- memory in use: Nova's Host.get_memory_mb_used, total minus (MemFree + Buffers + Cached) of /proc/meminfo.
- disk: Nova's libvirt_utils.get_fs_info over statvfs: total = f_frsize * f_blocks, free = f_frsize * f_bavail,
  used = f_frsize * (f_blocks - f_bfree).
- host address: Nova's host_ip is CONF.my_ip, whose default (oslo.utils get_my_ipv4) is the address of the
  default route's interface, else 127.0.0.1. oslo finds it by connecting a UDP socket to 8.8.8.8; here the
  default route is read from /proc/net/route and the interface's address asked with SIOCGIFADDR: nothing is
  ever addressed outside the host.
"""
from __future__ import annotations

import fcntl
import os
import socket
import struct
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

PROC = Path("/proc")
UTMP = Path("/var/run/utmp")
LOCALHOST = "127.0.0.1"
GIB = 1024 ** 3

# glibc's struct utmp on Linux (x86_64 and the other 64-bit ABIs with 32-bit time fields): 384 bytes,
# ut_type (short) at 0, ut_user (char[32]) at 44. USER_PROCESS is 7.
UTMP_RECORD_SIZE = 384
UTMP_USER_OFFSET = 44
UTMP_USER_SIZE = 32
USER_PROCESS = 7
SIOCGIFADDR = 0x8915
IFNAMSIZ = 16
RTF_UP = 0x1


@dataclass(frozen=True)
class LoadAverage:
    one: float
    five: float
    fifteen: float


@dataclass(frozen=True)
class MemoryUse:
    total_kib: int
    free_kib: int
    buffers_kib: int
    cached_kib: int

    @property
    def available_kib(self) -> int:
        """Nova's notion of free memory (Host._get_avail_memory_kb): MemFree + Buffers + Cached."""
        return self.free_kib + self.buffers_kib + self.cached_kib


@dataclass(frozen=True)
class DiskUsage:
    """The filesystem holding a directory, in bytes, as Nova's get_fs_info counts it."""
    total_bytes: int
    free_bytes: int  # available to unprivileged users (f_bavail)
    used_bytes: int  # blocks in use (f_blocks - f_bfree)

    # Nova's ComputeNode keeps these as integer GiB (the float GiB of get_local_gb_info, truncated).
    @property
    def total_gb(self) -> int:
        return self.total_bytes // GIB

    @property
    def used_gb(self) -> int:
        return self.used_bytes // GIB

    @property
    def free_gb(self) -> int:
        return self.free_bytes // GIB


# uptime -------------------------------------------------------------------------------------------------------

def parse_proc_uptime(text: str) -> float:
    """Seconds since boot: the first field of /proc/uptime."""
    return float(text.split()[0])


def parse_loadavg(text: str) -> LoadAverage:
    one, five, fifteen = (float(field) for field in text.split()[:3])
    return LoadAverage(one, five, fifteen)


def count_utmp_users(data: bytes) -> int:
    """Logged-in users as procps counts them: USER_PROCESS records whose ut_user is not empty."""
    users = 0
    for start in range(0, len(data) - UTMP_RECORD_SIZE + 1, UTMP_RECORD_SIZE):
        (ut_type,) = struct.unpack_from("=h", data, start)
        user_first_byte = data[start + UTMP_USER_OFFSET]
        if ut_type == USER_PROCESS and user_first_byte != 0:
            users += 1
    return users


def format_uptime(now: datetime, uptime_seconds: float, users: int, load: LoadAverage) -> str:
    """The line `uptime` prints (procps-ng), e.g. ' 12:34:56 up 3 days,  2:01,  1 user,  load average: ...'."""
    whole = int(uptime_seconds)
    days, hours, minutes = whole // 86400, whole // 3600 % 24, whole // 60 % 60
    text = f" {now.hour:02d}:{now.minute:02d}:{now.second:02d} up "
    if days:
        text += f"{days} {'days' if days > 1 else 'day'}, "
    text += f"{hours:2d}:{minutes:02d}, " if hours else f"{minutes} min, "
    text += f"{users:2d} {'users' if users > 1 else 'user'},  "
    return text + f"load average: {load.one:.2f}, {load.five:.2f}, {load.fifteen:.2f}"


def uptime_text(now: datetime | None = None, *, proc: Path = PROC, utmp: Path = UTMP) -> str:
    """`uptime`'s line for this host at `now` (local time; default: the current local time)."""
    now = datetime.now() if now is None else now
    seconds = parse_proc_uptime((proc / "uptime").read_text())
    load = parse_loadavg((proc / "loadavg").read_text())
    try:
        users = count_utmp_users(utmp.read_bytes())
    except FileNotFoundError:  # no utmp (containers, hosts without a login manager): getutent finds nobody
        users = 0
    return format_uptime(now, seconds, users, load)


# memory and disk ----------------------------------------------------------------------------------------------

def parse_meminfo(text: str) -> MemoryUse:
    """The four /proc/meminfo lines Nova uses (values in kB, which the kernel means as KiB)."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        fields = rest.split()
        if fields:
            values[key.strip()] = int(fields[0])
    return MemoryUse(values["MemTotal"], values["MemFree"], values["Buffers"], values["Cached"])


def read_meminfo(proc: Path = PROC) -> MemoryUse:
    return parse_meminfo((proc / "meminfo").read_text())


def disk_usage_from_statvfs(st: os.statvfs_result) -> DiskUsage:
    return DiskUsage(total_bytes=st.f_frsize * st.f_blocks, free_bytes=st.f_frsize * st.f_bavail,
                     used_bytes=st.f_frsize * (st.f_blocks - st.f_bfree))


def disk_usage(path: str | os.PathLike) -> DiskUsage:
    return disk_usage_from_statvfs(os.statvfs(path))


# host address -------------------------------------------------------------------------------------------------

def default_route_interface(route_table: str) -> str | None:
    """The interface of the IPv4 default route (lowest metric) in /proc/net/route's text, else None."""
    best: tuple[int, str] | None = None
    for line in route_table.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 8:
            continue
        iface, destination, flags, metric, mask = fields[0], fields[1], fields[3], fields[6], fields[7]
        if destination != "00000000" or mask != "00000000" or not int(flags, 16) & RTF_UP:
            continue
        if best is None or int(metric) < best[0]:
            best = (int(metric), iface)
    return best[1] if best else None


def interface_ipv4(name: str) -> str | None:
    """The (primary) IPv4 address of an interface, asked of the kernel with SIOCGIFADDR; None if it has none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            answer = fcntl.ioctl(sock.fileno(), SIOCGIFADDR, struct.pack("256s", name.encode()[:IFNAMSIZ - 1]))
        except OSError:
            return None
    return socket.inet_ntoa(answer[20:24])  # struct ifreq: name[16], then sockaddr_in (family, port, addr)


def host_ip(proc: Path = PROC) -> str:
    """The address of the default route's interface, or 127.0.0.1 (Nova's my_ip default)."""
    try:
        iface = default_route_interface((proc / "net" / "route").read_text())
    except OSError:
        return LOCALHOST
    return (interface_ipv4(iface) if iface else None) or LOCALHOST
