"""`nodecompute image import|list|delete`: manage the local image store from the host.

They write the same SQLite file and image directory as the running daemon (WAL, busy timeout), under the same
rules as the APIs (the service's transaction functions), acting as an operator: the default owner is the
bootstrap `admin` project and `--public` needs no further right.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from nodecompute.domain.image_models import DISK_FORMATS, ImageQuery
from nodecompute import cli
from nodecompute.cli import load_config
from nodecompute.compute.image_patch import check_property_names
from nodecompute.compute.images import create_tx, delete_tx, image_files, new_image, with_content
from nodecompute.domain.models import AuthContext
from nodecompute.db import identity as identity_db
from nodecompute.db import images as images_db
from nodecompute.db.store import open_and_migrate, run_write
from nodecompute.identity.accounts import ADMIN_PROJECT
from nodecompute.storage.errors import InvalidImage

LIST_ALL = 1 << 31


def _operator(project_id: str = "") -> AuthContext:
    return AuthContext.system("nodecompute-cli", cli.clock(), project_id)


class Progress:
    """Percent of bytes copied, on one stderr line."""

    def __init__(self, label: str, stream=None) -> None:
        self.label, self.stream, self.shown = label, stream or sys.stderr, -1

    def __call__(self, done: int, total: int) -> None:
        percent = 100 if total <= 0 else min(100, done * 100 // total)
        if percent != self.shown:
            self.shown = percent
            bar = "#" * (percent // 5)
            self.stream.write(f"\r{self.label} [{bar:<20}] {percent:3d}%")
            self.stream.flush()

    def close(self) -> None:
        if self.shown >= 0:
            self.stream.write("\n")
            self.stream.flush()


def _properties(pairs: list[str]) -> dict[str, str]:
    properties = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--property {pair!r}: expected KEY=VALUE")
        properties[key] = value
    check_property_names(properties)
    return properties


def _owner_tx(db, ref: str) -> str:
    project = identity_db.find_project(db, ref)
    if project is None and ref == ADMIN_PROJECT:
        project = identity_db.create_project(db, ADMIN_PROJECT, "Bootstrap project", now=cli.clock())
    if project is None:
        raise ValueError(f"project {ref!r} not found")
    return project.id


def cmd_import(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    source = Path(args.file)
    if not source.is_file():
        raise ValueError(f"{source}: no such file")
    if args.min_disk < 0 or args.min_ram < 0:
        raise ValueError("--min-disk and --min-ram must not be negative")
    properties = _properties(args.property or [])
    if 0 <= cfg.quota.metadata_items < len(properties):
        raise ValueError(f"too many properties: {len(properties)}, at most {cfg.quota.metadata_items}")
    db = open_and_migrate(cfg.db_path)
    owner = run_write(db, _owner_tx, args.owner)
    files = image_files(cfg)
    progress = Progress(f"Importing {source.name}")
    try:
        stored = asyncio.run(files.store_from_path(source, args.disk_format, progress=progress))
    except InvalidImage as exc:
        raise ValueError(f"{source}: {exc}") from None
    finally:
        progress.close()
    fields = {"name": args.name, "visibility": "public" if args.public else "private",
              "min_disk": args.min_disk, "min_ram": args.min_ram, "disk_format": stored.disk_format}
    now = cli.clock()
    image = run_write(db, create_tx, with_content(new_image(owner, fields, properties, [], now), stored, now))
    if not files.path_for(stored.sha256).exists():  # a daemon removed identical bytes meanwhile: store them again
        asyncio.run(files.store_from_path(source, stored.disk_format))
    print(f"image {image.name} id {image.id} {image.disk_format} {image.size} bytes "
          f"(virtual {image.virtual_size}) {image.visibility} owner {image.owner}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    db = open_and_migrate(load_config(args.config).db_path)
    for image in images_db.list_images(db, ImageQuery(limit=LIST_ALL), None):
        print(f"{image.id}  {image.name or '-'}  {image.status}  {image.visibility}  {image.disk_format or '-'}  "
              f"{image.size if image.size is not None else '-'}  owner={image.owner}")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    db = open_and_migrate(cfg.db_path)
    image = run_write(db, delete_tx, _operator(), args.id, cli.clock())
    if image.content_sha256 and not images_db.content_referenced(db, image.content_sha256):
        asyncio.run(image_files(cfg).remove(image.content_sha256))
    print(f"image {image.id} deleted")
    return 0


def add_image_commands(sub: argparse._SubParsersAction) -> None:
    image = sub.add_parser("image", help="manage the local image store").add_subparsers(dest="action", required=True)
    imp = image.add_parser("import", help="import a qcow2 or raw file as an active image")
    imp.add_argument("file")
    imp.add_argument("--name", required=True)
    imp.add_argument("--disk-format", choices=DISK_FORMATS, help="default: detected (must match when given)")
    imp.add_argument("--property", action="append", metavar="KEY=VALUE", help="custom property (repeatable)")
    imp.add_argument("--public", action="store_true", help="visible to every project (default: private)")
    imp.add_argument("--min-disk", type=int, default=0, metavar="GB")
    imp.add_argument("--min-ram", type=int, default=0, metavar="MB")
    imp.add_argument("--owner", default=ADMIN_PROJECT, help="owning project, name or id (default: admin)")
    imp.set_defaults(func=cmd_import)
    image.add_parser("list", help="list images (every project)").set_defaults(func=cmd_list)
    delete = image.add_parser("delete", help="delete an image (its bytes go once no image uses them)")
    delete.add_argument("id")
    delete.set_defaults(func=cmd_delete)
