"""Fresh root overlays copied from a template instead of made by `qemu-img create` for every build.

`qemu-img create -f qcow2 -b <base> -F <format> <dest> <size>` writes the same bytes every time for the same base
path, backing format and size (a header naming the base, an empty L1 and refcount table: 196 KiB, no id or clock in
it), and takes 8-15 ms as a subprocess (a build's disks wait for it before the config drive and the domain). So the
first overlay made for a (base, format, size) is kept as a template and the next ones are copies of it (0.2 ms).

<data_dir>/overlays/<sha256>.<format>.<size>.<hash of the base's absolute path>
  written through a temp name and renamed (never seen half written); 0600 (only copied, never opened by QEMU);
  the base's path is in the name because it is in the overlay: a moved instances directory makes new ones.
  Outside <instances>, whose tree is the servers' and the base cache's alone. A template outlives its base (the
  base comes back at the same path for the image's next server); it goes when its image leaves the store
  (instance_disks.BaseCache.prune, after each server delete and at start).
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from nodecompute.filemodes import make_dir

DIR_NAME = "overlays"  # in the data directory
_TEMPLATE_NAME = re.compile(r"([0-9a-f]{64})\.")


class OverlayTemplates:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path_for(self, base: Path, base_format: str, size_bytes: int) -> Path:
        base = Path(base).absolute()
        where = hashlib.sha256(str(base).encode()).hexdigest()[:16]
        return self.directory / f"{base.name}.{base_format}.{size_bytes}.{where}"

    def copy_to(self, base: Path, base_format: str, size_bytes: int, dest: Path) -> bool:
        """Write the template's bytes into `dest` (its mode kept); False when there is no template yet."""
        try:
            shutil.copyfile(self.path_for(base, base_format, size_bytes), dest)
        except FileNotFoundError:
            return False
        return True

    def keep(self, base: Path, base_format: str, size_bytes: int, made: Path) -> None:
        """`made`, a fresh overlay qemu-img just wrote (nothing has opened it since), becomes the template."""
        make_dir(self.directory)
        fd, name = tempfile.mkstemp(prefix=".partial-", dir=self.directory)  # 0600
        try:
            with os.fdopen(fd, "wb") as temp, open(made, "rb") as source:
                shutil.copyfileobj(source, temp)
            os.replace(name, self.path_for(base, base_format, size_bytes))
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise

    def prune(self, stored: Callable[[str], bool]) -> None:
        """Remove the templates of the images no longer `stored` (by sha256), and temp files a crash left."""
        if not self.directory.is_dir():
            return
        for template in self.directory.iterdir():
            named = _TEMPLATE_NAME.match(template.name)
            if template.name.startswith(".partial-") or (named is not None and not stored(named.group(1))):
                template.unlink(missing_ok=True)
