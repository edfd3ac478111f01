"""JSON views as the helion dialect answers them (the openstack dialect's views plus Helion's D-cells), for the
round-trip tests of test_xml_helion.py: each must come back from XML exactly."""
from __future__ import annotations

H = "http://h.example:8774"
SRV = "6be39927-53b2-4aee-8593-1c72b3673168"
IMG = "70a599e0-31e7-49b7-b260-868f441e862b"
VOL = "521752a6-acf6-4b2d-bc7a-119f9148cd8c"


def pair(collection: str, ident: str) -> list[dict]:
    return [{"href": f"{H}/v2/p1/{collection}/{ident}", "rel": "self"},
            {"href": f"{H}/p1/{collection}/{ident}", "rel": "bookmark"}]


def bookmark(collection: str, ident: str) -> list[dict]:
    return pair(collection, ident)[1:]


SERVER = {
    "id": SRV, "name": "vm 1", "status": "STOPPED", "tenant_id": "p1", "user_id": "u1",
    "metadata": {"role": "web & db", "empty": "", "None": "None"}, "hostId": "ab" * 28,
    "image": {"id": IMG, "links": bookmark("images", IMG)}, "flavor": {"id": "1", "links": bookmark("flavors", "1")},
    "created": "2026-01-02T03:04:05Z", "updated": "2026-01-02T03:05:00Z",
    "addresses": {"private net": [
        {"addr": "10.0.0.3", "version": 4, "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:01"},
        {"addr": "172.24.4.3", "version": 4, "OS-EXT-IPS:type": "floating", "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:01"},
    ]},
    "accessIPv4": "", "accessIPv6": "", "links": pair("servers", SRV), "OS-DCF:diskConfig": "MANUAL", "key_name": None,
    "config_drive": "true", "OS-EXT-AZ:availability_zone": "nova", "OS-EXT-STS:power_state": 4,
    "OS-EXT-STS:task_state": None, "OS-EXT-STS:vm_state": "stopped",
    "OS-SRV-USG:launched_at": "2026-01-02T03:04:06.000000", "OS-SRV-USG:terminated_at": None,
    "os-extended-volumes:volumes_attached": [{"id": VOL}], "security_groups": [{"name": "default"}, {"name": "web"}],
    "OS-EXT-SRV-ATTR:host": "node1", "OS-EXT-SRV-ATTR:hypervisor_hostname": "node1",
    "OS-EXT-SRV-ATTR:instance_name": "instance-00000001",
}
ERRORED = {**SERVER, "status": "ERROR", "image": "", "progress": 0, "os-extended-volumes:volumes_attached": [],
           "fault": {"code": 500, "created": "2026-01-02T03:04:07Z", "message": "No valid host was found.",
                     "details": "Traceback (most recent call last):\n  File \"x\", line 1"}}
FLAVOR = {"id": "1", "name": "m1.tiny", "ram": 512, "disk": 1, "swap": "", "OS-FLV-EXT-DATA:ephemeral": 0,
          "OS-FLV-DISABLED:disabled": False, "vcpus": 1, "os-flavor-access:is_public": True, "rxtx_factor": 1.0,
          "links": pair("flavors", "1")}
IMAGE = {"id": IMG, "name": "debian", "minRam": 0, "minDisk": 1, "metadata": {"os_distro": "debian"},
         "created": "2026-01-01T00:00:00Z", "updated": "2026-01-01T00:00:01Z", "status": "ACTIVE", "progress": 100,
         "OS-EXT-IMG-SIZE:size": 325020160, "server": {"id": SRV, "links": pair("servers", SRV)},
         "links": pair("images", IMG) + [{"rel": "alternate", "type": "application/vnd.openstack.image",
                                          "href": f"{H}/image/v2/images/{IMG}"}]}
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBr8 alice@example \n"
RULES = [
    {"id": 31701, "parent_group_id": 12091, "from_port": 22, "to_port": 22, "ip_protocol": "tcp",
     "ip_range": {"cidr": "0.0.0.0/0"}, "group": {}},
    {"id": 31705, "parent_group_id": 12091, "from_port": None, "to_port": None, "ip_protocol": None,
     "ip_range": {}, "group": {"name": "default", "tenant_id": "p1"}},
]

DOCS: list[tuple[str, dict, str | None]] = [
    ("server detail", {"server": SERVER}, None),
    ("server in ERROR without image", {"server": ERRORED}, None),
    ("servers page with next link", {"servers": [{"id": SRV, "name": "a", "links": pair("servers", SRV)}],
                                     "servers_links": [{"href": f"{H}/v2/p1/servers?marker={SRV}", "rel": "next"}]},
     None),
    ("create response", {"server": {"id": SRV, "links": pair("servers", SRV), "adminPass": "nX9B2qtU6HUw",
                                    "security_groups": [{"name": "default"}]}}, "server_created"),
    ("flavors detail", {"flavors": [FLAVOR, {**FLAVOR, "id": "2", "swap": 512, "rxtx_factor": 2.5,
                                             "os-flavor-access:is_public": False}]}, None),
    ("image detail", {"image": IMAGE}, None),
    ("keypairs", {"keypairs": [{"keypair": {"name": "k1", "public_key": KEY, "fingerprint": "57:64:ca"}}]}, None),
    ("keypair created", {"keypair": {"name": "k1", "public_key": KEY, "fingerprint": "57:64:ca", "user_id": "u1",
                                     "private_key": "-----BEGIN RSA PRIVATE KEY-----\nMIIC\n-----END RSA PRIVATE KEY-----\n"}},
     None),
    ("keypair show (openstack keys)", {"keypair": {"name": "k1", "public_key": KEY, "fingerprint": "57:64:ca",
                                                   "user_id": "u1", "id": 3, "created_at": "2026-01-01T00:00:00.000000",
                                                   "updated_at": None, "deleted": False, "deleted_at": None}}, None),
    ("floating ips", {"floating_ips": [{"id": 1, "ip": "172.24.4.3", "fixed_ip": None, "instance_id": None},
                                       {"id": 2, "ip": "172.24.4.4", "fixed_ip": "10.0.0.3", "instance_id": SRV}]},
     None),
    ("security group", {"security_group": {"id": 12091, "name": "default", "description": "", "tenant_id": "p1",
                                           "rules": RULES}}, None),
    ("security group rule", {"security_group_rule": RULES[0]}, None),
    ("limits with a rate", {"limits": {"rate": [{"uri": "*", "regex": ".*", "limit": [
        {"value": 10, "verb": "POST", "remaining": 2, "unit": "MINUTE", "next-available": "2026-01-01T00:00:00Z"}]}],
        "absolute": {"maxServerMeta": 128, "maxTotalCores": -1, "totalCoresUsed": 2}}}, None),
    ("extensions", {"extensions": [{"name": "Rescue", "alias": "os-rescue", "description": "Instance rescue mode.",
                                    "namespace": "http://docs.openstack.org/compute/ext/rescue/api/v1.1",
                                    "updated": "2011-08-18T00:00:00+00:00", "links": []}]}, None),
    ("versions", {"versions": [{"id": "v2.0", "status": "CURRENT", "updated": "2011-01-21T11:33:21Z",
                                "links": [{"rel": "self", "href": f"{H}/helion/v2/"}],
                                "media-types": [{"base": "application/xml",
                                                 "type": "application/vnd.openstack.compute+xml;version=2"}]}]}, None),
    ("availability zones", {"availabilityZoneInfo": [{"zoneName": "nova", "zoneState": {"available": True},
                                                      "hosts": None}]}, None),
    ("instance action with events", {"instanceAction": {
        "action": "create", "instance_uuid": SRV, "message": None, "project_id": "p1", "request_id": "req-1",
        "start_time": "2026-01-01T00:00:00.000000", "user_id": "u1", "events": [
            {"event": "compute__do_build", "start_time": "2026-01-01T00:00:00.000000", "finish_time": None,
             "result": None, "traceback": None}]}}, None),
    ("console", {"console": {"type": "novnc", "url": f"{H}:6080/vnc_auto.html?token=t&title=vm 1({SRV})"}}, None),
    ("console output", {"output": "Begin: Loading\r\n  [ OK ]\r\r\n\tlast line"}, None),
    ("rescue password", {"adminPass": "MySecretPass"}, None),
    ("server password not set", {"password": ""}, None),
    ("keys no schema names (strings)", {"server": {"id": SRV, "tags": ["a", "b"], "extra": {"k": "v", "deep": {
        "x": "y"}}, "items": [{"a": "1"}, {"a": "2"}], "note": None}}, None),
    ("volumes (os-volumes)", {"volumes": [{
        "id": VOL, "status": "in-use", "size": 1, "availabilityZone": "nova", "createdAt": "2026-01-01T00:00:00.000000",
        "displayName": None, "displayDescription": None, "volumeType": "None", "snapshotId": None, "metadata": {},
        "attachments": [{"id": VOL, "volumeId": VOL, "serverId": SRV, "device": "/dev/vdb"}]},
        {"id": "v2", "status": "available", "size": 2, "availabilityZone": "nova", "createdAt": "2026-01-01T00:00:00",
         "displayName": "d", "displayDescription": "x", "volumeType": "gold", "snapshotId": None, "metadata": {"a": "b"},
         "attachments": [{}]}]}, None),
    ("volume created (snake case)", {"volume": {
        "id": VOL, "display_name": "vol-001", "display_description": None, "size": 30, "volume_type": None,
        "metadata": {}, "availability_zone": "nova", "snapshot_id": None, "attachments": [],
        "created_at": "2026-01-01T00:00:00Z"}}, None),
    ("snapshots", {"snapshots": [{"id": "s1", "display_name": "snap", "display_description": None, "volume_id": VOL,
                                  "status": "available", "size": 30, "created_at": "2026-01-01T00:00:00Z"}]}, None),
    ("volume types", {"volume_types": [{"id": "t1", "name": "gold",
                                        "extra_specs": {"volume_backend_name": "lvm", "hw:cpu": "x y"}}]}, None),
    ("volume attachments", {"volumeAttachments": [{"device": "/dev/vdb", "id": VOL, "serverId": SRV,
                                                   "volumeId": VOL}]}, None),
    ("metadata", {"metadata": {"a b": "c & d <e> \"f\"", "unicode": "\u03b6\u00e9", "multi": "line1\nline2"}}, None),
    ("metadata item", {"meta": {"key-1": "value-1"}}, None),
    ("addresses", {"addresses": {"private net": SERVER["addresses"]["private net"], "empty": []}}, None),
    ("addresses of one network", {"private net": SERVER["addresses"]["private net"]}, "network"),
    ("fault", {"itemNotFound": {"code": 404, "message": "Instance x could not be found."}}, None),
    ("fault with details", {"cloudServersFault": {"code": 500, "message": "Fault!", "details": "Error Details..."}},
     None),
]
