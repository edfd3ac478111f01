"""Configuration: config.example.toml -> frozen dataclasses, every check at load time.

A key the daemon does not know, or a value of the wrong type or range, raises ConfigError naming the key
(``[section] key``), so a typo stops the daemon at start instead of being silently ignored.
"""
from __future__ import annotations

import dataclasses
import functools
import ipaddress
import os
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from nodecompute.config_network import network_problem


class ConfigError(Exception):
    """A configuration key or value is wrong; the message names the key."""


def default_data_dir() -> Path:
    if os.geteuid() == 0:
        return Path("/var/lib/nodecompute")
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "nodecompute"


@dataclass(frozen=True)
class ServerConfig:
    listen_host: str = "127.0.0.1"
    listen_port: int = 8774
    # Base URL clients reach the daemon at (catalog, clouds.yaml, links). Empty: links follow the request's Host
    # header (Nova, Keystone); the catalog and clouds.yaml say http://<listen_host>:<listen_port>.
    public_url: str = ""
    trust_forwarded: bool = False  # honour X-Forwarded-Proto / X-Forwarded-Host for links (behind a reverse proxy)


@dataclass(frozen=True)
class IdentityConfig:
    # Password of the bootstrap user "admin"; empty: generated once and written to <data_dir>/clouds.yaml.
    admin_password: str = ""
    token_ttl: int = 3600
    region: str = "RegionOne"
    # argon2id cost; defaults take a few tens of milliseconds on one core.
    kdf_time_cost: int = 2
    kdf_memory_kib: int = 19456
    # Keystone's [security_compliance] lockout: after this many wrong passwords in a row a user is refused for
    # lockout_duration seconds (0: never locked, Keystone's default). The bootstrap admin is never locked.
    lockout_failure_attempts: int = 0
    lockout_duration: int = 1800


@dataclass(frozen=True)
class ComputeConfig:
    # Empty: qemu:///embed?root=<data_dir>/libvirt (no libvirtd needed).
    libvirt_uri: str = ""
    virt_type: str = "auto"
    availability_zone: str = "nova"
    host_name: str = ""
    vnc_listen: str = "127.0.0.1"  # unused: displays are UNIX sockets (virt/displays.py); accepted for old files
    force_config_drive: bool = True
    config_drive_format: str = "iso9660"
    dhcp_domain: str = "novalocal"
    cyclades_domain: str = "vm.nodecompute.local"  # the Cyclades view's SNF:fqdn is snf-<serial>.<this> (D34)
    stats_interval: int = 60  # seconds between the Cyclades graphs' samples, the stats `refresh` (#1902, #1903)
    deleted_retention: int = 3600
    console_log_max_bytes: int = 1048576
    # Seconds a SOFT reboot (Nova's [libvirt] wait_soft_reboot_seconds) and a stop (Nova's shutdown_timeout; 0: at
    # once) wait for the guest to power off on ACPI; a deleted server stays SOFT_DELETED (restorable) before a
    # periodic task reclaims it (0: DELETE deletes at once; Nova's reclaim_instance_interval); a resize waits in
    # VERIFY_RESIZE before it is confirmed for its owner (0: never; Nova's resize_confirm_window); a shelved server
    # keeps its domain and disks before it is offloaded (0: at once, -1: never; Nova's shelved_offload_time).
    wait_soft_reboot_seconds: int = 120
    shutdown_timeout: int = 60
    reclaim_instance_interval: int = 0
    resize_confirm_window: int = 0
    shelved_offload_time: int = 0
    # Host capacity the scheduler may hand out (0: what libvirt reports for the host).
    max_vcpus: int = 0
    max_memory_mb: int = 0
    max_disk_gb: int = 0  # GiB of root + ephemeral + swap in all (0: the instances file system's size, Nova's DISK_GB)
    list_ids_kept: int = 20000  # ids of server lists asked again, kept until the next commit (0: none, read each time)


@dataclass(frozen=True)
class QuotaConfig:
    instances: int = 10
    cores: int = 20
    ram: int = 51200
    metadata_items: int = 128
    injected_files: int = 5
    injected_file_content_bytes: int = 10240
    injected_file_path_bytes: int = 255
    key_pairs: int = 100
    security_groups: int = 10
    security_group_rules: int = 20
    floating_ips: int = 10
    fixed_ips: int = -1
    server_groups: int = 10
    server_group_members: int = 10


@dataclass(frozen=True)
class VolumeConfig:
    # The block storage service at /volume (Cinder v3 at 3.0): its availability zone, the type of volumes created
    # without one, the free space volume writes leave on the file system holding <data dir>/volumes, and the
    # quota defaults of every project (Cinder's; -1 is unlimited; per-type quotas default to -1).
    availability_zone: str = "nova"
    default_volume_type: str = "__DEFAULT__"
    reserved_mb: int = 0
    quota_volumes: int = 10
    quota_snapshots: int = 10
    quota_gigabytes: int = 1000
    quota_backups: int = 10
    quota_backup_gigabytes: int = 1000
    quota_groups: int = 10
    per_volume_size_limit: int = -1
    # Detaching a volume from a running guest: unplug requests and the wait after each for the guest to let go
    # (Nova's [libvirt] device_detach_attempts and device_detach_timeout); then the volume stays in-use.
    detach_attempts: int = 8
    detach_wait_seconds: float = 20.0


@dataclass(frozen=True)
class ConsoleConfig:
    # noVNC's files (vnc_lite.html, core/, app/), unpacked by scripts/setup.sh. Empty: <virtualenv>/share/novnc.
    novnc_dir: str = ""
    # The console listeners (nova-novncproxy's and nova-serialproxy's ports by default; 0: any free port).
    listen_host: str = "127.0.0.1"
    novncproxy_port: int = 6080
    serialproxy_port: int = 6083
    # Console URLs (Nova's [vnc] novncproxy_base_url, [serial_console] base_url); empty: on public_url's host.
    novncproxy_base_url: str = ""
    serialproxy_base_url: str = ""
    # Seconds a console URL's token stays valid (reusable until then, as Nova's are).
    token_ttl: int = 600
    # Origin host names a console websocket accepts besides the one in its Host header (Nova's allowed_origins).
    allowed_origins: tuple[str, ...] = ()
    # The Cyclades console's one-shot VNC proxy: its port range, how long a console waits for its connection.
    vncauth_port_min: int = 25000
    vncauth_port_max: int = 30000
    vncauth_window: int = 30


@dataclass(frozen=True)
class NetworkConfig:
    # auto: on when the host allows it (root or CAP_NET_ADMIN + CAP_SYS_ADMIN, dnsmasq, nft), else off with a
    # logged reason; true: the daemon refuses to start without it; false: off (no `network` in the catalog).
    enabled: str = "auto"
    # The IPv4 ranges tenant subnets must lie in (each subnet's cidr inside one of them).
    subnet_ranges: tuple[str, ...] = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
    # Upstream DNS servers the networks' dnsmasq forwards to; empty: no upstream DNS at all.
    dns_servers: tuple[str, ...] = ()
    # DNS domain dnsmasq gives the guests' leases (Neutron's dns_domain default).
    dhcp_domain: str = "openstacklocal"
    # MTU of a network created without one.
    mtu: int = 1500
    # Where the networks' dnsmasq files live; dnsmasq must traverse every parent. Empty: /run/nodecompute-net-<prefix>.
    state_dir: str = ""
    # The external network (router:external) that router gateways and floating IPs come from. Empty cidr: none.
    external_cidr: str = ""
    external_name: str = "public"
    # The upstream router's address on it (the routers' default route). Empty: the cidr's first address.
    external_gateway: str = ""
    # Address ranges ("first-last") for router gateways and floating IPs. Empty: the cidr less the gateway.
    external_pool: tuple[str, ...] = ()
    # Neutron's is_default: the network auto-allocation (`networks: "auto"`) connects projects to.
    external_default: bool = True
    # A host interface joined to the external network's bridge (the way to real hosts). Empty: no uplink.
    external_uplink: str = ""
    # Security groups and anti-spoofing enforced with nftables (README "Networking"). A host whose kernel lacks a
    # feature they need stops networking from starting (enabled = true: the daemon refuses to start; auto: off with
    # the reason) unless this is false: guests' traffic then goes unfiltered, and the daemon says so at start.
    security_groups: bool = True


@dataclass(frozen=True)
class NetworkQuotaConfig:
    # Neutron's default quotas per project (-1: unlimited).
    network: int = 100
    subnet: int = 100
    port: int = 500
    router: int = 10
    floatingip: int = 50
    security_group: int = 10
    security_group_rule: int = 100


@dataclass(frozen=True)
class K5Config:
    # K5's image import and export (/k5/v1/imageimport, /k5/v1/imageexport): the directory object paths
    # /v1/AUTH_<project>/<container>/<object> resolve under (empty: <data_dir>/objects), the unfinished jobs allowed
    # at once (one more: 503 50301), the conversions run at once, and a test-only hold (seconds each conversion
    # waits at its first progress past 0%, qemu-img stopped, a cancel included; 0: none).
    object_root: str = ""
    image_jobs_max_active: int = 4
    image_jobs_max_running: int = 1
    test_hold_conversions: int = 0


@dataclass(frozen=True)
class Config:
    data_dir: Path = field(default_factory=default_data_dir)
    log_level: str = "INFO"
    server: ServerConfig = field(default_factory=ServerConfig)
    identity: IdentityConfig = field(default_factory=IdentityConfig)
    compute: ComputeConfig = field(default_factory=ComputeConfig)
    quota: QuotaConfig = field(default_factory=QuotaConfig)
    console: ConsoleConfig = field(default_factory=ConsoleConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    network_quota: NetworkQuotaConfig = field(default_factory=NetworkQuotaConfig)
    volume: VolumeConfig = field(default_factory=VolumeConfig)
    k5: K5Config = field(default_factory=K5Config)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "nodecompute.db"

    @property
    def images_dir(self) -> Path:
        return self.data_dir / "images"

    @property
    def volumes_dir(self) -> Path:
        return self.data_dir / "volumes"

    @property
    def instances_dir(self) -> Path:
        return self.data_dir / "instances"

    @property
    def libvirt_uri(self) -> str:
        return self.compute.libvirt_uri or f"qemu:///embed?root={self.data_dir / 'libvirt'}"

    @property
    def public_url(self) -> str:
        if self.server.public_url:
            return self.server.public_url.rstrip("/")
        host = self.server.listen_host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.server.listen_port}"

    @property
    def host_name(self) -> str:
        return self.compute.host_name or _node_name()

    @property
    def novnc_dir(self) -> Path:
        return Path(self.console.novnc_dir).expanduser() if self.console.novnc_dir else \
            Path(sys.prefix) / "share" / "novnc"


_node_name = functools.cache(lambda: os.uname().nodename)  # once, as Nova's host defaults to it (issue 22)


_SECTIONS = {"server": ServerConfig, "identity": IdentityConfig, "compute": ComputeConfig, "quota": QuotaConfig,
             "console": ConsoleConfig, "network": NetworkConfig, "network_quota": NetworkQuotaConfig,
             "volume": VolumeConfig, "k5": K5Config}
_CHOICES = {
    ("compute", "virt_type"): ("auto", "kvm", "qemu"),
    ("compute", "config_drive_format"): ("iso9660", "vfat"),
    ("network", "enabled"): ("auto", "true", "false"),
    (None, "log_level"): ("DEBUG", "INFO", "WARNING", "ERROR"),
}
_MINIMUM = {
    ("server", "listen_port"): 1,
    ("identity", "token_ttl"): 60,
    ("identity", "kdf_time_cost"): 1,
    ("identity", "kdf_memory_kib"): 1024,
    ("identity", "lockout_failure_attempts"): 0,
    ("identity", "lockout_duration"): 1,
    ("compute", "deleted_retention"): 3600,
    ("compute", "console_log_max_bytes"): 65536,
    ("compute", "wait_soft_reboot_seconds"): 1, ("compute", "shutdown_timeout"): 0,
    ("compute", "reclaim_instance_interval"): 0, ("compute", "max_vcpus"): 0, ("compute", "max_memory_mb"): 0,
    ("compute", "max_disk_gb"): 0, ("compute", "stats_interval"): 1, ("compute", "list_ids_kept"): 0,
    ("console", "novncproxy_port"): 0, ("console", "serialproxy_port"): 0,
    ("console", "token_ttl"): 10,
    ("console", "vncauth_port_min"): 1, ("console", "vncauth_port_max"): 1,
    ("console", "vncauth_window"): 1,
    ("network", "mtu"): 68,
    ("volume", "reserved_mb"): 0,
    ("k5", "image_jobs_max_active"): 1, ("k5", "image_jobs_max_running"): 1, ("k5", "test_hold_conversions"): 0,
}
_PORTS = {("server", "listen_port"), ("console", "novncproxy_port"), ("console", "serialproxy_port"),
          ("console", "vncauth_port_min"), ("console", "vncauth_port_max")}


def _check_value(section: str | None, key: str, value: Any, expected: Any) -> Any:
    where = f"[{section}] {key}" if section else key
    if (section, key) == ("network", "enabled") and isinstance(value, bool):
        value = "true" if value else "false"  # `enabled = true` reads as naturally as "true"
    if isinstance(expected, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
    elif isinstance(expected, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        low = _MINIMUM.get((section, key), -1)
        if value < low:
            raise ConfigError(f"{where}: must be at least {low}, got {value}")
        if (section, key) in _PORTS and value > 65535:
            raise ConfigError(f"{where}: must be at most 65535, got {value}")
    elif isinstance(expected, tuple):
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            raise ConfigError(f"{where}: expected a list of non-empty strings, got {value!r}")
        return tuple(value)
    elif isinstance(expected, (str, Path)):
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        choices = _CHOICES.get((section, key))
        if choices and value not in choices:
            raise ConfigError(f"{where}: must be one of {', '.join(choices)}, got {value!r}")
        if (section, key) == ("server", "public_url") and value:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ConfigError(f"{where}: must be an http(s) URL such as http://host:8774, got {value!r}")
        if isinstance(expected, Path):
            return Path(value).expanduser()
    return value


def _build(section: str, cls: type, raw: Any) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"[{section}]: expected a table")
    defaults = cls()
    known = {f.name for f in dataclasses.fields(cls)}
    values = {}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(f"[{section}] {key}: unknown key (known: {', '.join(sorted(known))})")
        values[key] = _check_value(section, key, value, getattr(defaults, key))
    built = cls(**values)
    problem = network_problem(built) if isinstance(built, NetworkConfig) else None
    if problem:
        raise ConfigError(problem)
    if isinstance(built, ConsoleConfig) and built.vncauth_port_min > built.vncauth_port_max:
        raise ConfigError(f"[{section}] vncauth_port_min: must not exceed vncauth_port_max "
                          f"({built.vncauth_port_min} > {built.vncauth_port_max})")
    return built


def from_dict(raw: dict[str, Any]) -> Config:
    top_defaults = Config()
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _SECTIONS:
            values[key] = _build(key, _SECTIONS[key], value)
        elif key in ("data_dir", "log_level"):
            values[key] = _check_value(None, key, value, getattr(top_defaults, key))
        else:
            raise ConfigError(f"{key}: unknown key or section")
    return Config(**values)


def load(path: Path | None) -> Config:
    """Read a TOML file (None: every default)."""
    if path is None:
        return Config()
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return from_dict(raw)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost: other machines may reach it


def warnings(cfg: Config) -> list[str]:
    """Settings that load but are likely wrong; `config check` prints them and the daemon logs them at start."""
    found = []
    if not cfg.server.public_url and not is_loopback(cfg.server.listen_host):
        found.append(
            f"[server] listen_host {cfg.server.listen_host!r} is not a loopback address but public_url is empty: "
            f"links in responses follow each request's Host header, and the catalog and clouds.yaml advertise "
            f"{cfg.public_url}; set [server] public_url to the URL clients reach this daemon at"
        )
    return found


def replace(cfg: Config, **changes: Any) -> Config:
    return dataclasses.replace(cfg, **changes)
