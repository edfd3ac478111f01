"""K5 object paths, `/v1/AUTH_<project>/<container>/<object>`, served from a local directory until object storage
exists: the object is the file `<root>/<project>/<container>/<object>` (an object name with `/` in it goes into
subdirectories, as Swift's pseudo-folders).

Parsing is pure and refuses anything that is not such a path: no URL is ever fetched (`http://...`, `file:...` and
every other scheme are bad paths), no component may be empty, `.` or `..`, or hold a NUL, a control character, `?`
or `#`; the text is taken literally (no percent-decoding). A path under another project's `AUTH_` is its own error,
ForeignProject, which the K5 API answers with 403 `40301`.

Opening walks the path from a descriptor on the (operator-configured, trusted) root, one component at a time with
O_NOFOLLOW: no symbolic link is followed at all, not even one that stays inside the root, since a link could point
into another project's container. Only a regular file is an object and only a directory a container (a FIFO or a
device is refused without blocking). The opened descriptor is what the caller reads, so a name swapped after the
check changes nothing; tools get it as `/proc/<pid>/fd/<n>` (see `fd_path`).
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from nodecompute.filemodes import make_dir
from nodecompute.storage.errors import StorageError

PREFIX = "/v1/AUTH_"
PROJECT = re.compile(r"[A-Za-z0-9_-]{1,64}")
NAME_MAX_BYTES = 255  # one path component (NAME_MAX)
OBJECT_MAX_BYTES = 1024  # Swift's object name limit
CONTAINER_MAX_BYTES = 256
FORBIDDEN_CHARS = re.compile(r"[\x00-\x1f\x7f?#]")
STAGING_DIR = ".staging"  # under the root; no project id can name it (a project id has no dot)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


class BadObjectPath(StorageError):
    """Not an object (or container) path this store serves; the message is safe for the API user."""


class ForeignProject(StorageError):
    """The path names another project's account."""

    def __init__(self, project: str) -> None:
        self.project = project
        super().__init__(f"AUTH_{project} is not the caller's project")


class ObjectUnavailable(StorageError):
    """The path is well formed but names no regular file (or directory) reachable without following a link."""


@dataclass(frozen=True)
class ObjectPath:
    project: str
    container: str
    object: str | None = None  # None: the container itself

    @property
    def components(self) -> tuple[str, ...]:
        """Path components under the root: project, container, then the object's own parts."""
        tail = tuple(self.object.split("/")) if self.object is not None else ()
        return (self.project, self.container, *tail)

    def __str__(self) -> str:
        tail = f"/{self.object}" if self.object is not None else ""
        return f"{PREFIX}{self.project}/{self.container}{tail}"


def _check_component(part: str, what: str) -> None:
    if part in ("", ".", ".."):
        raise BadObjectPath(f"{what} has an empty, '.' or '..' component")
    if FORBIDDEN_CHARS.search(part):
        raise BadObjectPath(f"{what} has a control character, '?' or '#'")
    if len(part.encode()) > NAME_MAX_BYTES:
        raise BadObjectPath(f"{what} has a component longer than {NAME_MAX_BYTES} bytes")


def _split(text: object, caller_project: str) -> tuple[str, list[str]]:
    if not isinstance(text, str) or not text.startswith(PREFIX):
        raise BadObjectPath(f"an object path starts with {PREFIX}<project>/")
    project, *rest = text[len(PREFIX):].split("/")
    if not PROJECT.fullmatch(project):
        raise BadObjectPath("the project id of the path is not valid")
    if project != caller_project:
        raise ForeignProject(project)
    return project, rest


def parse_object_path(text: object, caller_project: str) -> ObjectPath:
    """`/v1/AUTH_<project>/<container>/<object>` of the caller's project."""
    project, rest = _split(text, caller_project)
    if len(rest) < 2:
        raise BadObjectPath("an object path names a container and an object")
    container, parts = rest[0], rest[1:]
    _check_component(container, "the container")
    if len(container.encode()) > CONTAINER_MAX_BYTES:
        raise BadObjectPath(f"the container name is longer than {CONTAINER_MAX_BYTES} bytes")
    for part in parts:
        _check_component(part, "the object name")
    name = "/".join(parts)
    if len(name.encode()) > OBJECT_MAX_BYTES:
        raise BadObjectPath(f"the object name is longer than {OBJECT_MAX_BYTES} bytes")
    return ObjectPath(project, container, name)


def parse_container_path(text: object, caller_project: str) -> ObjectPath:
    """`/v1/AUTH_<project>/<container>` (one trailing slash tolerated) of the caller's project."""
    project, rest = _split(text, caller_project)
    if len(rest) == 2 and rest[1] == "":
        rest = rest[:1]
    if len(rest) != 1:
        raise BadObjectPath("a container path is /v1/AUTH_<project>/<container>")
    _check_component(rest[0], "the container")
    if len(rest[0].encode()) > CONTAINER_MAX_BYTES:
        raise BadObjectPath(f"the container name is longer than {CONTAINER_MAX_BYTES} bytes")
    return ObjectPath(project, rest[0])


def fd_path(fd: int) -> str:
    """A name for an open descriptor that a child process (same user) can open: the very file, no path lookup."""
    return f"/proc/{os.getpid()}/fd/{fd}"


def _unavailable(ref: ObjectPath, exc: OSError) -> ObjectUnavailable:
    reasons = {errno.ELOOP: "is a symbolic link", errno.ENOTDIR: "is not a directory (or is a symbolic link)",
               errno.ENOENT: "does not exist"}
    reason = reasons.get(exc.errno or 0, os.strerror(exc.errno or 0))
    return ObjectUnavailable(f"{ref} cannot be opened: a component {reason}")


class ObjectRoot:
    """The directory that stands in for object storage: `<root>/<project>/<container>/<object>`."""

    def __init__(self, root: Path) -> None:
        self.root = Path(os.path.realpath(root))

    def nominal_path(self, ref: ObjectPath) -> Path:
        """Where the object lives (for messages and tests; never opened by name)."""
        return self.root.joinpath(*ref.components)

    @property
    def staging_dir(self) -> Path:
        """Private directory for files being written, on the root's file system (so they can be linked into place)."""
        return self.root / STAGING_DIR

    def ensure_staging_dir(self) -> Path:
        make_dir(self.staging_dir)
        if not stat.S_ISDIR(os.lstat(self.staging_dir).st_mode):
            raise ObjectUnavailable(f"{self.staging_dir} is not a directory")
        return self.staging_dir

    @contextlib.contextmanager
    def opened_staging_dir(self) -> Iterator[int]:
        fd = os.open(self.ensure_staging_dir(), _DIR_FLAGS)
        try:
            yield fd
        finally:
            os.close(fd)

    def _walk(self, ref: ObjectPath, names: tuple[str, ...]) -> int:
        """A directory descriptor on root/names..., never following a link."""
        fd = os.open(self.root, _DIR_FLAGS)
        try:
            for name in names:
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = child
        except OSError as exc:
            os.close(fd)
            raise _unavailable(ref, exc) from None
        return fd

    def _check_inside(self, fd: int, ref: ObjectPath) -> None:
        """Belt and braces: the kernel's name for what we opened is under the root."""
        real = os.readlink(f"/proc/self/fd/{fd}")
        if not real.startswith(str(self.root).rstrip("/") + "/"):
            os.close(fd)
            raise ObjectUnavailable(f"{ref} resolves outside the import root")

    def open_object(self, ref: ObjectPath) -> int:
        """A read-only descriptor on the object's regular file; ObjectUnavailable otherwise."""
        if ref.object is None:
            raise BadObjectPath("a container is not an object")
        names = ref.components
        parent = self._walk(ref, names[:-1])
        try:
            fd = os.open(names[-1], _FILE_FLAGS, dir_fd=parent)
        except OSError as exc:
            raise _unavailable(ref, exc) from None
        finally:
            os.close(parent)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise ObjectUnavailable(f"{ref} is not a regular file")
        self._check_inside(fd, ref)
        return fd

    @contextlib.contextmanager
    def opened_object(self, ref: ObjectPath) -> Iterator[int]:
        fd = self.open_object(ref)
        try:
            yield fd
        finally:
            os.close(fd)

    def open_container(self, ref: ObjectPath) -> int:
        """A descriptor on the container's directory (which must exist, as a Swift container must)."""
        fd = self._walk(ref, (ref.project, ref.container))
        self._check_inside(fd, ref)
        return fd

    @contextlib.contextmanager
    def opened_container(self, ref: ObjectPath) -> Iterator[int]:
        fd = self.open_container(ref)
        try:
            yield fd
        finally:
            os.close(fd)

    def object_exists(self, container: ObjectPath, name: str) -> bool:
        """Is there anything (a link included) called `name` in the container?"""
        with self.opened_container(container) as fd:
            try:
                os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                return False
        return True
