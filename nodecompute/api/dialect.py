"""The dialect seam: what one face of the API says differently from another (dialects.md section 2).

A `Dialect` is mounted as its own aiohttp sub-application (api/face.py) and holds, for its routes:

- `faults`: the fault body renderer, fault names by status, and overrides by error class (D13, D15), some of them
  from a microversion on (Nova's 409 instead of 403 for access to a public flavor from 2.7);
- `statuses`, `views`, `bodies`, `queries`, `rules`: per operation id, each a `Versioned` value (the value in force
  at the request's microversion): success status (else `method_statuses`' for the method, else 200), view function, request body schema, query schema, and the
  behaviour knobs a parser reads (which filters a non-admin may use, what a field defaults to); `checked_queries`:
  the operations whose query the face itself checks, per version (Nova 2.102's closed query strings);
- `validation`: strict, or the legacy-v2 relaxation (unknown body properties dropped before the check), per version;
- `roots`: its version roots (`/v2.1` negotiates microversions, `/v2` is fixed at 2.0; vendor dialects have none);
  a route or action key with a microversion range (`since`, `until`) answers 404 outside it (`served_at`);
- `routes`: the rows of the route table it serves (its route filter: the core rows minus what it lacks, plus its own).

Handlers never name a status or a view: `respond()` (api/respond.py) looks both up here for the request's operation
and version, so a new dialect or microversion is data added here, not a copied handler.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from aiohttp import web

from nodecompute.api.routing import Route, Version
from nodecompute.domain.errors import ComputeError, InternalError, NotFound

T = TypeVar("T")
LEGACY_V2: Version = (2, 0)
FIRST_MICROVERSION: Version = (2, 1)
STRICT = "strict"
LEGACY = "legacy"  # Nova's legacy v2 validation: properties a schema does not name are dropped, not refused
NOVA_URL_PROJECT = "Malformed request URL: URL's project_id '{url}' doesn't match Context's project_id '{token}'"


class Versioned(Generic[T]):
    """A value that changes at microversions: `Versioned(a)` is `a` at every version; `Versioned(a, ((2, 26), b))` is
    `a` below 2.26 and `b` from 2.26 on. Versions below the first step (legacy v2 is 2.0) get the first value."""

    __slots__ = ("first", "steps")

    def __init__(self, first: T, *steps: tuple[Version, T]) -> None:
        self.first = first
        self.steps = tuple(sorted(steps, key=lambda step: step[0]))

    def at(self, version: Version) -> T:
        value = self.first
        for since, later in self.steps:
            if version < since:
                break
            value = later
        return value

    def then(self, since: Version, value: T) -> Versioned[T]:
        """This value up to `since`, `value` from it on."""
        return Versioned(self.first, *(step for step in self.steps if step[0] < since), (since, value))

    def map(self, fn: Callable[[T], Any]) -> Versioned[Any]:
        """`fn` of the value at every version (a view built from versioned parts)."""
        return Versioned(fn(self.first), *((since, fn(value)) for since, value in self.steps))

    def __repr__(self) -> str:
        return f"Versioned({self.first!r}, {', '.join(map(repr, self.steps))})"


def layered(first: Mapping[str, T], *steps: tuple[Version, Mapping[str, T | None]]) -> Versioned[tuple[T, ...]]:
    """Named parts that accumulate over microversions: each step adds parts or replaces them by name (None drops
    one). `layered({"core": a}, ((2, 9), {"locked": b}), ((2, 47), {"core": c}))` is (a,) below 2.9, (a, b) from
    2.9 and (c, b) from 2.47."""
    current = dict(first)
    values = []
    for since, changes in sorted(steps, key=lambda step: step[0]):
        current.update(changes)
        values.append((since, tuple(part for part in current.values() if part is not None)))
    return Versioned(tuple(first.values()), *values)


def served_at(version: Version, since: Version | None, until: Version | None) -> bool:
    """Whether a route or action key with that range is served at `version`. Legacy v2 (2.0) is served what 2.1
    is, as Nova serves /v2 at its default version 2.1 with the microversion headers stripped."""
    version = max(version, FIRST_MICROVERSION)
    return (since is None or since <= version) and (until is None or version <= until)


def versioned(values: Mapping[str, Any]) -> dict[str, Versioned[Any]]:
    """Wrap each plain value of a table in `Versioned` (the common case: one value at every version)."""
    return {key: value if isinstance(value, Versioned) else Versioned(value) for key, value in values.items()}


Renderer = Callable[[int, str, str, "Mapping[str, str] | None"], web.Response]  # (status, name, message, headers)


@dataclass(frozen=True)
class Faults:
    """How a face renders errors: the body shape, the fault name per status, and overrides by error class (the
    first class of the error's MRO found in `by_class` wins: QuotaExceeded -> (413, "overLimit") in a vendor
    dialect, D15). `by_version` overrides by error class per microversion (None: no override at that version), and
    is looked up before `by_class`."""

    render: Renderer
    names: Mapping[int, str]
    default_name: str
    by_class: Mapping[type[ComputeError], tuple[int, str]] = field(default_factory=dict)
    by_version: Mapping[type[ComputeError], Versioned[tuple[int, str] | None]] = field(default_factory=dict)
    # the name an error gives itself, before the name by status (Neutron's fault type is the error's class name)
    name_of: Callable[[ComputeError], str | None] = lambda exc: None
    internal_message: str = InternalError.msg_fmt  # what a 500 says (details go to the log only)

    def classify(self, exc: ComputeError, version: Version = LEGACY_V2) -> tuple[int, str]:
        for cls in type(exc).__mro__:
            versioned_rule = self.by_version.get(cls)
            rule = (versioned_rule.at(version) if versioned_rule is not None else None) or self.by_class.get(cls)
            if rule is not None:
                return rule
        return exc.code, self.name_of(exc) or self.names.get(exc.code, self.default_name)

    def response(self, exc: ComputeError, message: str, version: Version = LEGACY_V2) -> web.Response:
        status, name = self.classify(exc, version)
        return self.render(status, name, message, dict(exc.headers) or None)


@dataclass(frozen=True)
class Microversions:
    """Microversion negotiation of one version root (behaviour.md section 4): the service name of the
    OpenStack-API-Version header, the legacy header (None: the service has none), and the range served."""

    service: str
    legacy_header: str | None
    min: Version
    max: Version


@dataclass(frozen=True)
class VersionRoot:
    """A version root under the face's prefix: "/v2.1" (microversions), "/v2" (fixed at 2.0), "" (unversioned).
    `project_segment`: its routes are also served under `<root>/{project_id}` (Nova's router)."""

    path: str
    fixed: Version = LEGACY_V2
    microversions: Microversions | None = None
    project_segment: bool = False


@dataclass(frozen=True)
class Dialect:
    name: str
    prefix: str
    roots: tuple[VersionRoot, ...]
    routes: tuple[Route, ...]
    faults: Faults
    statuses: Mapping[str, Versioned[int]] = field(default_factory=dict)
    views: Mapping[str, Versioned[Any]] = field(default_factory=dict)
    bodies: Mapping[str, Versioned[Any]] = field(default_factory=dict)
    queries: Mapping[str, Versioned[Any]] = field(default_factory=dict)
    rules: Mapping[str, Versioned[Any]] = field(default_factory=dict)
    # operations whose query the face checks against `queries` before the handler (closed_queries.py), from a
    # version on: for handlers that read no query themselves
    checked_queries: Versioned[frozenset[str]] = Versioned(frozenset())
    # the success status by method where an operation names none (Neutron's 201 on POST and 204 on DELETE)
    method_statuses: Mapping[str, int] = field(default_factory=dict)
    validation: Versioned[str] = Versioned(STRICT)
    unmatched_needs_token: bool = True  # an unknown path under a version root answers 401 before 404
    checks_url_project: bool = False  # a `{project_id}` in the URL must be the token's project (400 otherwise)
    url_project_message: str = NOVA_URL_PROJECT  # formatted with `url` and `token`
    # (method, root-relative path, the request's version or None) -> the answer to a route the face does not have
    unknown_route: Callable[[str, str, Version | None], ComputeError] = lambda method, path, version: NotFound()
    # aiohttp middlewares of the face's sub-application: `outer` run around the face middleware (they see every
    # answer it gives, faults and 401s included), `inner` inside it (after the token check; their errors are
    # rendered as the dialect's faults)
    outer_middlewares: tuple[Any, ...] = ()
    inner_middlewares: tuple[Any, ...] = ()
    # called with the root application and the face's sub-application before the face is mounted (the face's own
    # keys; startup and shutdown work that needs the root's services)
    on_mount: Callable[[web.Application, web.Application], None] | None = None

    @property
    def microversions(self) -> Microversions | None:
        return next((root.microversions for root in self.roots if root.microversions), None)

    def status(self, op: str, version: Version, method: str = "GET") -> int:
        found = self.statuses.get(op)
        return self.method_statuses.get(method, 200) if found is None else found.at(version)

    def derive(self, **changes: Any) -> Dialect:
        """A dialect like this one with `changes`; mappings are merged entry by entry (a vendor dialect overrides
        the rows it changes and inherits the rest)."""
        merged = {}
        for name, value in changes.items():
            current = getattr(self, name)
            if isinstance(current, Mapping) and isinstance(value, Mapping):
                value = {**current, **value}
            merged[name] = value
        return dataclasses.replace(self, **merged)


def route_filter(table: Iterable[Route], face: str, lacks: Iterable[str] = (),
                 adds: Iterable[Route] = ()) -> tuple[Route, ...]:
    """A dialect's routes: the core rows of `face` minus the operations it lacks, plus its own rows."""
    missing = set(lacks)
    return tuple(route for route in table if route.face == face and route.op not in missing) + tuple(adds)


@dataclass(frozen=True)
class Bound:
    """One registered aiohttp route: the table row it serves, under which version root, in which dialect.
    Built once at mount; the face middleware finds it with one dict lookup per request."""

    dialect: Dialect
    route: Route | None  # None: no route matched (the 404/405 path)
    root: VersionRoot | None
