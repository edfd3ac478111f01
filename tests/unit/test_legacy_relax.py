"""Nova's legacy-v2 relaxation (api/respond.py `relax`): properties a closed schema does not name are dropped, an
open object's keys (os-volumes' metadata: no properties named, any key allowed) are its own and stay."""
from __future__ import annotations

from nodecompute.api import os_volumes
from nodecompute.api.respond import relax


def test_closed_objects_lose_unknown_keys_and_open_ones_keep_theirs():
    body = {"volume": {"size": 1, "metadata": {"contents": "junk"}, "bogus": True}}
    assert relax(os_volumes.VOLUME_CREATE, body) == {"volume": {"size": 1, "metadata": {"contents": "junk"}}}
