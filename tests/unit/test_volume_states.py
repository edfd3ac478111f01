"""Volume statuses and their moves (domain/volume_models.py) against Cinder's flows, and the compare-and-set that
refuses any other move (db/volumes.py)."""
from __future__ import annotations

import pytest

from nodecompute.db import volumes as volumes_db
from nodecompute.db.store import open_and_migrate
from nodecompute.domain import volume_models as vm
from nodecompute.domain.models import utcnow

# Cinder's flows (cinder/volume/api.py, manager.py, flows/): each a path of statuses
FLOWS = {
    "create": ("creating", "available"),
    "create fails": ("creating", "error"),
    "delete": ("available", "deleting"),
    "delete fails": ("available", "deleting", "error_deleting"),
    "delete an error": ("error", "deleting"),
    "extend": ("available", "extending", "available"),
    "extend fails, then delete": ("available", "extending", "error_extending", "deleting"),
    "upload": ("available", "uploading", "available"),
    "attach (reserve first)": ("available", "reserved", "attaching", "in-use"),
    "attach": ("available", "attaching", "in-use"),
    "detach": ("in-use", "detaching", "available"),
    "detach of a multi-attached volume": ("in-use", "detaching", "in-use"),
    "unreserve": ("available", "reserved", "available"),
    "forced upload of an attached volume": ("in-use", "uploading", "in-use"),
    "revert to a snapshot (K5's fcx-restore)": ("available", "reverting", "available"),
    "revert fails": ("available", "reverting", "error"),
    "re-image of a server's root volume (2.93's rebuild)": ("in-use", "downloading", "in-use"),
}


@pytest.mark.parametrize("flow", sorted(FLOWS))
def test_cinders_flows_are_allowed(flow):
    path = FLOWS[flow]
    for old, new in zip(path, path[1:]):
        assert vm.may_move(old, new), (flow, old, new)


def test_every_status_is_known_and_the_table_names_only_them():
    assert len(set(vm.VOLUME_STATUSES)) == 14
    for old, moves in vm.TRANSITIONS.items():
        assert old in vm.VOLUME_STATUSES and set(moves) <= set(vm.VOLUME_STATUSES), old


@pytest.mark.parametrize("old, new", [("creating", "in-use"), ("deleting", "available"), ("in-use", "deleting"),
                                      ("error_deleting", "available"), ("extending", "uploading"),
                                      ("available", "creating")])
def test_other_moves_are_not(old, new):
    assert not vm.may_move(old, new)


def test_the_compare_and_set_refuses_a_move_cinder_does_not_make(tmp_path):
    db = open_and_migrate(tmp_path / "nodecompute.db")
    type_id = db.execute("SELECT id FROM volume_types").fetchone()[0]
    volume = vm.Volume(id="v", project_id="p", user_id="u", name=None, description=None, size=1, status="in-use",
                       availability_zone="nova", volume_type_id=type_id, created_at=utcnow())
    volumes_db.insert_volume(db, volume)
    with pytest.raises(ValueError, match="not a volume status transition: in-use -> deleting"):
        volumes_db.update_volume(db, "v", {"status": "deleting"}, ("in-use",), now=utcnow())
    # not in that status
    assert volumes_db.update_volume(db, "v", {"status": "deleting"}, ("available",), now=utcnow()) is None
    assert volumes_db.update_volume(db, "v", {"status": "detaching"}, ("in-use",), now=utcnow()).status == "detaching"
