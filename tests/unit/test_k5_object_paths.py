"""K5 object paths: parsing (pure) and opening under the import root without following any link."""
from __future__ import annotations

import os
import subprocess

import pytest

from nodecompute.storage.object_paths import (BadObjectPath, ForeignProject, ObjectPath, ObjectRoot,
                                              ObjectUnavailable, fd_path, parse_container_path, parse_object_path)

P = "790f1c092038413a8dd6771a033b17f5"
OTHER = "100f1c092038413a8dd6771a455b17f5"


def test_parse_the_documented_example():
    ref = parse_object_path(f"/v1/AUTH_{P}/test_container/test_image.vmdk", P)
    assert ref == ObjectPath(P, "test_container", "test_image.vmdk")
    assert ref.components == (P, "test_container", "test_image.vmdk")
    assert str(ref) == f"/v1/AUTH_{P}/test_container/test_image.vmdk"


def test_object_names_may_have_pseudo_folders():
    ref = parse_object_path(f"/v1/AUTH_{P}/c/images/2016/disk.vmdk", P)
    assert (ref.container, ref.object) == ("c", "images/2016/disk.vmdk")
    assert ref.components == (P, "c", "images", "2016", "disk.vmdk")


def test_container_paths():
    assert parse_container_path(f"/v1/AUTH_{P}/test_container", P) == ObjectPath(P, "test_container")
    assert parse_container_path(f"/v1/AUTH_{P}/test_container/", P) == ObjectPath(P, "test_container")
    for bad in (f"/v1/AUTH_{P}", f"/v1/AUTH_{P}/", f"/v1/AUTH_{P}/c/o", f"/v1/AUTH_{P}/c//", f"/v1/AUTH_{P}/.."):
        with pytest.raises(BadObjectPath):
            parse_container_path(bad, P)


@pytest.mark.parametrize("text", [
    f"http://example.com/v1/AUTH_{P}/c/o", f"https://example.com/v1/AUTH_{P}/c/o", f"file:///v1/AUTH_{P}/c/o",
    f"ftp://x/v1/AUTH_{P}/c/o", f"//v1/AUTH_{P}/c/o", f"v1/AUTH_{P}/c/o", f"/v2/AUTH_{P}/c/o", f"/v1/{P}/c/o",
    "", None, 42, ["/v1/AUTH_x/c/o"],
    "/v1/AUTH_/c/o", f"/v1/AUTH_{P}", f"/v1/AUTH_{P}/c", f"/v1/AUTH_{P}/c/", f"/v1/AUTH_{P}/c/o/",
    f"/v1/AUTH_{P}//o", f"/v1/AUTH_{P}/c//o", f"/v1/AUTH_{P}/../{OTHER}/o", f"/v1/AUTH_{P}/c/../../etc/passwd",
    f"/v1/AUTH_{P}/c/./o", f"/v1/AUTH_{P}/./o", f"/v1/AUTH_{P}/c/a/../o", f"/v1/AUTH_{P}/c/o\x00.vmdk",
    f"/v1/AUTH_{P}/c/o\n", f"/v1/AUTH_{P}/c/o?x=1", f"/v1/AUTH_{P}/c/o#frag", f"/v1/AUTH_{P}/c/" + "a" * 256,
    f"/v1/AUTH_{P}/c/" + "/".join(["a" * 200] * 6), f"/v1/AUTH_{P}/" + "c" * 257 + "/o",
    "/v1/AUTH_.staging/c/o", "/v1/AUTH_a.b/c/o", "/v1/AUTH_../c/o", "/v1/AUTH_" + "a" * 65 + "/c/o",
])
def test_bad_paths_are_refused(text):
    with pytest.raises(BadObjectPath):
        parse_object_path(text, P)


def test_another_projects_account_is_its_own_error():
    with pytest.raises(ForeignProject) as raised:
        parse_object_path(f"/v1/AUTH_{OTHER}/c/o.vmdk", P)
    assert raised.value.project == OTHER
    assert not isinstance(raised.value, BadObjectPath)
    with pytest.raises(ForeignProject):
        parse_container_path(f"/v1/AUTH_{OTHER}/c", P)


@pytest.fixture
def root(tmp_path):
    base = tmp_path / "import-root"
    (base / P / "c" / "sub").mkdir(parents=True)
    (base / P / "c" / "o.vmdk").write_bytes(b"mine")
    (base / P / "c" / "sub" / "deep.vmdk").write_bytes(b"deep")
    (base / OTHER / "theirs").mkdir(parents=True)
    (base / OTHER / "theirs" / "secret.vmdk").write_bytes(b"secret")
    (tmp_path / "outside.txt").write_bytes(b"outside")
    return ObjectRoot(base)


def read_object(root: ObjectRoot, text: str) -> bytes:
    with root.opened_object(parse_object_path(text, P)) as fd:
        return os.pread(fd, 100, 0)


def test_objects_open_as_files_under_the_root(root):
    assert read_object(root, f"/v1/AUTH_{P}/c/o.vmdk") == b"mine"
    assert read_object(root, f"/v1/AUTH_{P}/c/sub/deep.vmdk") == b"deep"
    assert root.nominal_path(ObjectPath(P, "c", "o.vmdk")) == root.root / P / "c" / "o.vmdk"


@pytest.mark.parametrize("make_link", [
    lambda base, tmp: os.symlink(tmp / "outside.txt", base / P / "c" / "evil.vmdk"),  # absolute, out of the root
    lambda base, tmp: os.symlink("../../../outside.txt", base / P / "c" / "evil.vmdk"),  # relative, out of the root
    lambda base, tmp: os.symlink(base / OTHER / "theirs" / "secret.vmdk", base / P / "c" / "evil.vmdk"),  # inside
    lambda base, tmp: os.symlink("/etc/passwd", base / P / "c" / "evil.vmdk"),
    lambda base, tmp: os.symlink("evil.vmdk", base / P / "c" / "evil.vmdk"),  # a loop
])
def test_a_linked_object_is_refused_wherever_it_points(root, tmp_path, make_link):
    make_link(root.root, tmp_path)
    with pytest.raises(ObjectUnavailable):
        read_object(root, f"/v1/AUTH_{P}/c/evil.vmdk")


def test_linked_containers_projects_and_folders_are_refused(root, tmp_path):
    os.symlink(root.root / OTHER / "theirs", root.root / P / "linked")
    os.symlink(tmp_path, root.root / P / "c" / "up")
    os.symlink(root.root / OTHER, root.root / "0badc0de")
    for text in (f"/v1/AUTH_{P}/linked/secret.vmdk", f"/v1/AUTH_{P}/c/up/outside.txt"):
        with pytest.raises(ObjectUnavailable):
            read_object(root, text)
    with pytest.raises(ObjectUnavailable):
        with root.opened_object(parse_object_path("/v1/AUTH_0badc0de/theirs/secret.vmdk", "0badc0de")):
            pass
    with pytest.raises(ObjectUnavailable):
        root.open_container(parse_container_path(f"/v1/AUTH_{P}/linked", P))


def test_a_root_given_through_a_link_is_resolved_once(root, tmp_path):
    os.symlink(root.root, tmp_path / "root-link")
    linked = ObjectRoot(tmp_path / "root-link")
    assert linked.root == root.root
    assert read_object(linked, f"/v1/AUTH_{P}/c/o.vmdk") == b"mine"


def test_only_regular_files_are_objects(root):
    os.mkfifo(root.root / P / "c" / "pipe.vmdk")  # opening must not block waiting for a writer
    for text in (f"/v1/AUTH_{P}/c/sub", f"/v1/AUTH_{P}/c/pipe.vmdk", f"/v1/AUTH_{P}/c/missing.vmdk",
                 f"/v1/AUTH_{P}/nocontainer/o.vmdk", f"/v1/AUTH_{P}/c/o.vmdk/x"):
        with pytest.raises(ObjectUnavailable):
            read_object(root, text)


def test_containers_and_names_taken(root):
    container = parse_container_path(f"/v1/AUTH_{P}/c", P)
    with root.opened_container(container) as fd:
        assert sorted(os.listdir(fd)) == ["o.vmdk", "sub"]
    assert root.object_exists(container, "o.vmdk")
    assert not root.object_exists(container, "new.vmdk")
    os.symlink("/nonexistent", root.root / P / "c" / "dangling.vmdk")
    assert root.object_exists(container, "dangling.vmdk")  # a dangling link still takes the name
    with pytest.raises(ObjectUnavailable):
        root.open_container(parse_container_path(f"/v1/AUTH_{P}/missing", P))


def test_a_tool_reads_the_opened_file_even_if_the_name_is_swapped(root, tmp_path):
    path = root.root / P / "c" / "o.vmdk"
    with root.opened_object(parse_object_path(f"/v1/AUTH_{P}/c/o.vmdk", P)) as fd:
        path.unlink()
        os.symlink(tmp_path / "outside.txt", path)  # swapped for a link after the check
        shown = subprocess.run(["cat", fd_path(fd)], capture_output=True, check=True).stdout
    assert shown == b"mine"


def test_staging_dir_is_private_and_not_an_account(root):
    staging = root.ensure_staging_dir()
    assert staging == root.root / ".staging"
    assert oct(staging.stat().st_mode & 0o777) == oct(0o700)
    with pytest.raises(BadObjectPath):
        parse_container_path("/v1/AUTH_.staging", ".staging")
