"""Block storage quotas and limits (#1233, #1234): Cinder's resources and defaults, usage counted from the volumes
and snapshots, admin updates, and 413 with Cinder's messages when a create would pass a limit."""
from __future__ import annotations

from tests.api.volume_helpers import Cinder, admin, member  # noqa: F401 (fixtures)
from tests.cinder_oracle import SAMPLES
from tests.oracle import key_differences

DEFAULTS = {"volumes": 10, "snapshots": 10, "gigabytes": 1000, "backups": 10, "backup_gigabytes": 1000, "groups": 10,
            "per_volume_gigabytes": -1, "volumes___DEFAULT__": -1, "gigabytes___DEFAULT__": -1,
            "snapshots___DEFAULT__": -1}


async def test_quota_sets_show_defaults_and_usage(member: Cinder):
    url = f"/os-quota-sets/{member.project_id}"
    shown = await member.ok("GET", url, 200, check="/os-quota-sets/{id}")
    assert key_differences(shown, SAMPLES["quotas-show-response"]) == []
    assert shown["quota_set"] == {**DEFAULTS, "id": member.project_id}
    defaults = await member.ok("GET", url + "/defaults", 200, check="/os-quota-sets/{id}/defaults")
    assert defaults == shown
    volume = await member.create(size=3)
    await member.snapshot(volume["id"])
    used = (await member.ok("GET", url + "?usage=True", 200))["quota_set"]
    assert {name: value["in_use"] for name, value in used.items() if name != "id"} == {
        **dict.fromkeys(DEFAULTS, 0), "volumes": 1, "volumes___DEFAULT__": 1, "snapshots": 1,
        "snapshots___DEFAULT__": 1, "gigabytes": 6, "gigabytes___DEFAULT__": 6}  # snapshots count in gigabytes
    assert used["volumes"] == {"in_use": 1, "limit": 10, "reserved": 0}
    await member.fault("GET", url + "?usage=perhaps", 400, message="Value 'perhaps' for 'usage' is not a boolean.")
    limits = await member.ok("GET", "/limits", 200, check="/limits")
    assert key_differences(limits, SAMPLES["limits-show-response"]) == []
    assert limits["limits"] == {"rate": [], "absolute": {
        "maxTotalVolumes": 10, "maxTotalSnapshots": 10, "maxTotalVolumeGigabytes": 1000, "maxTotalBackups": 10,
        "maxTotalBackupGigabytes": 1000, "totalVolumesUsed": 1, "totalGigabytesUsed": 6, "totalSnapshotsUsed": 1,
        "totalBackupsUsed": 0, "totalBackupGigabytesUsed": 0}}


async def test_admins_update_and_reset_quotas(member: Cinder, admin: Cinder):
    url = f"/os-quota-sets/{member.project_id}"
    updated = await admin.ok("PUT", url, 200, check="/os-quota-sets/{id}",
                             json={"quota_set": {"volumes": "5", "gigabytes___DEFAULT__": 20, "id": "ignored"}})
    assert updated["quota_set"] == {**DEFAULTS, "volumes": 5, "gigabytes___DEFAULT__": 20}
    assert (await member.ok("GET", url, 200))["quota_set"]["volumes"] == 5
    await member.fault("PUT", url, 403, json={"quota_set": {"volumes": 50}},
                       message="Policy doesn't allow volume_extension:quotas:update to be performed.")
    await member.fault("GET", f"/os-quota-sets/{admin.project_id}", 403,
                       message="Policy doesn't allow volume_extension:quotas:show to be performed.")
    await admin.fault("PUT", url, 400, json={"quota_set": {"cores": 4, "volumes": 2}},
                      message="Invalid input received: Bad key(s) in quota set: cores")
    await admin.fault("PUT", url, 400, json={"quota_set": {"volumes": "many"}}, message="volumes must be an integer")
    await admin.fault("PUT", url, 400, json={"quota_set": {"volumes": -2}}, message="volumes must be >= -1")
    await admin.fault("PUT", url, 400, json={"quota_set": {"volumes": 2**31}}, message="volumes must be <= 2147483647")
    await admin.fault("PUT", url, 400, json={"quota_set": {}}, message="quota_set")
    await member.create()
    await member.create()
    await admin.fault("PUT", url, 400, json={"quota_set": {"volumes": 1}},
                      message="Quota volumes limit must be equal or greater than existing resources. Current usage "
                              "is 2 and the requested limit is 1.")
    resp = await admin.request("DELETE", url, check="/os-quota-sets/{id}")
    assert resp.status == 200
    assert (await member.ok("GET", url, 200))["quota_set"] == {**DEFAULTS, "id": member.project_id}
    compute = await member.api.get(f"/os-quota-sets/{member.project_id}", member.token)
    assert "volumes" not in (await compute.json())["quota_set"]  # Nova's quota set is apart


async def test_over_quota_is_413_with_cinders_messages(member: Cinder, admin: Cinder):
    url = f"/os-quota-sets/{member.project_id}"
    await admin.ok("PUT", url, 200, json={"quota_set": {"volumes": 2, "gigabytes": 5, "snapshots": 1}})
    first = await member.create(size=2)
    resp = await member.request("POST", "/volumes", json={"volume": {"size": 4}})
    fault = await member.fault("POST", "/volumes", 413, json={"volume": {"size": 4}},
                               message="VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed "
                                       "gigabytes quota. Requested 4G, quota is 5G and 2G has been consumed.")
    assert resp.headers["Retry-After"] == "0" and fault["retryAfter"] == "0"
    assert list(await resp.json()) == ["overLimit"]
    await member.create(size=1)
    await member.fault("POST", "/volumes", 413, json={"volume": {"size": 1}},
                       message="VolumeLimitExceeded: Maximum number of volumes allowed (2) exceeded for quota "
                               "'volumes'.")
    await member.snapshot(first["id"])
    await member.fault("POST", "/snapshots", 413, json={"snapshot": {"volume_id": first["id"]}},
                       message="SnapshotLimitExceeded: Maximum number of snapshots allowed (1) exceeded")
    await admin.ok("PUT", url, 200, json={"quota_set": {"volumes": -1, "gigabytes": -1, "volumes___DEFAULT__": 2,
                                                         "per_volume_gigabytes": 3}})
    await member.fault("POST", "/volumes", 413, json={"volume": {"size": 1}},
                       message="VolumeLimitExceeded: Maximum number of volumes allowed (2) exceeded for quota "
                               "'volumes___DEFAULT__'.")
    await member.fault("POST", "/volumes", 413, json={"volume": {"size": 4}},
                       message="VolumeSizeExceedsLimit: Requested volume size 4G is larger than maximum allowed "
                               "limit 3G.")
    await member.idle()
    listed = await member.ok("GET", "/volumes", 200)
    assert len(listed["volumes"]) == 2  # the refused creates made nothing
    assert len(member.files()) == 3  # two volumes and the snapshot


async def test_a_types_quota_follows_its_rename(member: Cinder, admin: Cinder):
    made = (await admin.ok("POST", "/types", 200, json={"volume_type": {"name": "fast"}}))["volume_type"]
    url = f"/os-quota-sets/{member.project_id}"
    await admin.ok("PUT", url, 200, json={"quota_set": {"volumes_fast": 1}})
    await admin.ok("PUT", f"/types/{made['id']}", 200, json={"volume_type": {"name": "faster"}})
    shown = (await member.ok("GET", url, 200))["quota_set"]
    assert shown["volumes_faster"] == 1 and "volumes_fast" not in shown
    await member.create(volume_type="faster")
    await member.fault("POST", "/volumes", 413, json={"volume": {"size": 1, "volume_type": "faster"}},
                       message="exceeded for quota 'volumes_faster'.")
