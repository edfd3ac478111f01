"""Plain records passed between the service and the adapters. No I/O, no framework types."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit

Clock = Callable[[], datetime]  # naive UTC now; the services get one through their constructors (app.py, cli.py)


def utcnow() -> datetime:
    """The system clock: the default the composition roots (create_app, the CLI) hand to the services."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def isotime(dt: datetime) -> str:
    """Stored form and Nova's usec form: YYYY-MM-DDTHH:MM:SS.ffffff (UTC, no zone). A naive time of a four-digit
    year is isoformat's same text at a third of strftime's cost (a thousand volumes or ports list thousands)."""
    if dt.tzinfo is None and dt.year >= 1000:
        return dt.isoformat(timespec="microseconds")
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%f")


def zulu(dt: datetime, *, micro: bool = False) -> str:
    """The API's UTC timestamps with a Z: YYYY-MM-DDTHH:MM:SSZ (Nova's created/updated, Glance, Keystone v2, K5), or
    with microseconds (Keystone v3's issued_at and expires_at)."""
    if dt.tzinfo is None and dt.year >= 1000:  # isoformat's same text, as in isotime
        return dt.isoformat(timespec="microseconds" if micro else "seconds") + "Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")


def id_from_ref(ref: object) -> str:
    """The id in a reference: the id itself, or the last path segment of a full or bookmark URL (Nova's
    get_id_from_href for imageRef, flavorRef and the list filters); a trailing slash is ignored."""
    return urlsplit(str(ref)).path.rstrip("/").rsplit("/", 1)[-1]


def parse_isotime(text: str) -> datetime:
    """The stored form back (fromisoformat: C code, a tenth of strptime's cost on every token check)."""
    return datetime.fromisoformat(text)


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    description: str = ""
    enabled: bool = True


@dataclass(frozen=True)
class User:
    id: str
    name: str
    default_project_id: str | None
    enabled: bool = True


@dataclass(frozen=True)
class AuthContext:
    """Who is calling: resolved from a token on every request."""

    user_id: str
    user_name: str
    project_id: str
    project_name: str
    roles: tuple[str, ...]
    expires_at: datetime
    issued_at: datetime
    audit_id: str
    methods: tuple[str, ...] = ("password",)

    @classmethod
    def system(cls, name: str, now: datetime, project_id: str = "") -> AuthContext:
        """nodecompute acting on its own (a command, a background job): an admin, in `project_id`, that no token
        carries; `name` is its user and audit id in logs and records."""
        return cls(user_id=name, user_name=name, project_id=project_id, project_name="", roles=("admin",),
                   expires_at=now, issued_at=now, audit_id=name)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def can_write(self) -> bool:
        return "admin" in self.roles or "member" in self.roles


@dataclass(frozen=True)
class Flavor:
    flavorid: str
    name: str
    memory_mb: int
    vcpus: int
    root_gb: int
    ephemeral_gb: int = 0
    swap: int = 0
    rxtx_factor: float = 1.0
    is_public: bool = True
    disabled: bool = False
    description: str | None = None
    serial: int = 0
    extra_specs: tuple[tuple[str, str], ...] = ()  # (key, value) sorted by key; loaded where a view shows them


@dataclass(frozen=True)
class Keypair:
    user_id: str
    name: str
    fingerprint: str
    public_key: str
    created_at: datetime
    type: str = "ssh"
    serial: int = 0
    private_key: str | None = None  # only on the create response of a generated pair, never stored
