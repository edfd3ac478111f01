"""K5's fcx-restore (#1230) through /k5/volume/v2/{tenant_id}: a volume reverted in place to one of its snapshots
brings back what was written before the snapshot; only an available volume (409 otherwise); no temporary file
stays; a daemon stopped mid-revert finds the volume available again (compute/volume_revert.py)."""
from __future__ import annotations

from nodecompute.api.keys import block_storage_key
from nodecompute.compute import volume_reconcile
from nodecompute.db import volumes as volumes_db
from nodecompute.domain import volume_models as vm
from nodecompute.domain.models import utcnow
from tests.api.helpers import assert_fault
from tests.api.volume_helpers import Cinder, qemu_io


async def test_fcx_restore_brings_back_the_marker(api, admin_token):
    cinder = Cinder(api, admin_token, root="/k5/volume/v2")
    volume = await cinder.create(name="system")
    path = cinder.volume_file(volume["id"])
    qemu_io(path, "qcow2", "write -P 0x4b 0 64k")  # the marker
    made = await cinder.ok("POST", "/snapshots", 202, json={"snapshot": {"volume_id": volume["id"]}})
    snapshot = made["snapshot"]
    await cinder.idle()
    qemu_io(path, "qcow2", "write -P 0x00 0 64k")  # erased after the snapshot
    qemu_io(path, "qcow2", "read -P 0x00 0 64k")  # (qemu-io fails on a pattern mismatch)
    before = cinder.files()

    resp = await cinder.request("POST", f"/snapshots/{snapshot['id']}/action", json={"fcx-restore": {}})
    assert resp.status == 202 and await resp.read() == b""
    await cinder.idle()
    qemu_io(path, "qcow2", "read -P 0x4b 0 64k")  # the marker is back
    assert (await cinder.show(volume["id"]))["status"] == "available"
    assert cinder.files() == before  # no temporary file stays

    # only an available volume: a volume in another status is refused and left as it is
    app = api.client.server.app
    await app[block_storage_key].volumes.store.write(volumes_db.update_volume, volume["id"], {"status": "in-use"},
                                                     now=utcnow())
    await assert_fault(await cinder.request("POST", f"/snapshots/{snapshot['id']}/action",
                                            json={"fcx-restore": {}}), 409, "conflictingRequest")
    # the core volume face has no such action
    core = Cinder(api, admin_token)
    await core.fault("POST", f"/snapshots/{snapshot['id']}/action", 400, json={"fcx-restore": {}})

    # a daemon stopped mid-revert: the file is whole, the volume available again at start
    await app[block_storage_key].volumes.store.write(volumes_db.update_volume, volume["id"],
                                                     {"status": vm.REVERTING}, now=utcnow())
    block = app[block_storage_key]
    await volume_reconcile.reconcile(block.volumes, block.snapshots)
    assert (await cinder.show(volume["id"]))["status"] == "available"
