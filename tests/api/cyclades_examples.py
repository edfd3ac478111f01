"""The seed 000/001 example answers of the Cyclades dialect, transcribed (the seed's JSON has typos: unbalanced
brackets, `addresses` written as a list, a quoted `1"`), with the keys the cyclades cells of dialects.md add, and
a strict comparison: an answer has exactly the example's keys at every level and values of the same JSON types."""
from __future__ import annotations

from typing import Any


class MapOf:
    """A free-form object (metadata, addresses by network id): any keys, each value shaped like `value`."""

    def __init__(self, value: Any) -> None:
        self.value = value


class Nullable:
    """A value the example shows as null that a D-cell lets be set (D54: a floating IP's pool, fixed_ip and
    instance_id): null, or shaped like `value`."""

    def __init__(self, value: Any) -> None:
        self.value = value


def assert_like_example(answer: Any, example: Any, where: str = "answer") -> None:
    """`answer` has the example's keys, no more and no fewer, at every level, and values of the example's JSON
    types (a list's items are each shaped like the example's first item; `None` in an example means null)."""
    if isinstance(example, Nullable):
        if answer is not None:
            assert_like_example(answer, example.value, where)
    elif isinstance(example, MapOf):
        assert isinstance(answer, dict), f"{where}: {answer!r} is not an object"
        for key, value in answer.items():
            assert isinstance(key, str)
            assert_like_example(value, example.value, f"{where}.{key}")
    elif isinstance(example, dict):
        assert isinstance(answer, dict), f"{where}: {answer!r} is not an object"
        extra, missing = sorted(set(answer) - set(example)), sorted(set(example) - set(answer))
        assert not extra and not missing, f"{where}: keys not in the example {extra}, example keys missing {missing}"
        for key, value in example.items():
            assert_like_example(answer[key], value, f"{where}.{key}")
    elif isinstance(example, list):
        assert isinstance(answer, list), f"{where}: {answer!r} is not a list"
        for i, item in enumerate(answer):
            assert example, f"{where}: the example's list is empty, the answer's is not"
            assert_like_example(item, example[0], f"{where}[{i}]")
    elif example is None:
        assert answer is None, f"{where}: {answer!r} is not null"
    else:
        assert type(answer) is type(example), f"{where}: {answer!r} is not a {type(example).__name__}"


LINK = {"href": "", "rel": ""}
METADATA = MapOf("")
# seed 000 lines 893-911: one diagnostics entry (D48); `details` is null in every example
DIAGNOSTIC = {"level": "", "created": "", "source": "", "source_date": "", "message": "", "details": None}
# seed 000 lines 266-350: an attachment (D25 lists the same seven keys)
ATTACHMENT = {"id": "", "network_id": "", "mac_address": "", "firewallProfile": "", "ipv4": "", "ipv6": "",
              "OS-EXT-IPS:type": ""}
ADDRESS = {"version": 4, "addr": "", "OS-EXT-IPS:type": ""}

# seed 000 lines 965-1073 (Example get server Details); the detail list (266-480) has the same server keys
SERVER = {
    "addresses": MapOf([ADDRESS]), "attachments": [ATTACHMENT], "links": [LINK],
    "image": {"id": "", "links": [LINK]}, "suspended": False, "flavor": {"id": 1, "links": [LINK]}, "id": "84",
    "security_groups": [{"name": ""}], "user_id": "", "accessIPv4": "", "accessIPv6": "", "progress": 100,
    "config_drive": "", "status": "", "updated": "", "hostId": "", "SNF:fqdn": "", "key_name": None,
    "SNF:key_names": [""], "name": "", "created": "", "tenant_id": "", "SNF:port_forwarding": {},
    "SNF:task_state": "", "diagnostics": [DIAGNOSTIC], "metadata": METADATA,
    "deleted": False,  # D25 (+ `deleted`; the seed names it with changes-since, line 40-49)
}
# seed 000 lines 619-640 (Example Create Server Response): "..." stands for the server attributes, so the whole
# view plus adminPass (D21); the example's `"id": 5678` is an integer, D11 makes the server id a string
CREATED_SERVER = {"server": {**SERVER, "adminPass": ""}}
SERVER_LIST = {"servers": [{"id": "", "name": "", "links": [LINK]}]}  # seed 000 lines 230-260

# seed 000 lines 815-826 (Example Get Server Stats Response)
STATS = {"stats": {"serverRef": 5678, "refresh": 60, "cpuBar": "", "cpuTimeSeries": "", "netBar": "",
                   "netTimeSeries": ""}}

# seed 000 lines 1799-1810 (Example Action Console Response)
CONSOLE = {"console": {"type": "vnc", "host": "", "port": 1234, "password": ""}}

# seed 000 lines 1932-1964 (List Flavors (regular)) and 2086-2110 (Flavor Details; the detail list 1982 alike)
FLAVOR_BRIEF = {"id": 1, "name": "", "links": [LINK]}
FLAVOR = {"id": 1, "name": "", "ram": 1024, "SNF:disk_template": "", "disk": 20, "vcpus": 1,
          "os-flavor-access:is_public": True, "SNF:flavor-access": [""], "links": [LINK]}

# seed 000 lines 2297-2325 (image details): D52 adds `progress`; the links are self, bookmark, alternate (D66)
IMAGE = {"status": "", "updated": "", "name": "", "created": "", "id": "", "links": [LINK], "metadata": METADATA,
         "progress": 100}

# seed 000 lines 2710-2730 (List Keypairs), 2797-2825 (Create and Import), 2875-2888 (Keypair Details)
KEYPAIR_LIST = {"keypairs": [{"keypair": {"fingerprint": "", "name": "", "public_key": ""}}]}
KEYPAIR_CREATED = {"keypair": {"fingerprint": "", "name": "", "public_key": "", "private_key": ""}}
KEYPAIR_IMPORTED = {"keypair": {"fingerprint": "", "name": "", "public_key": ""}}
KEYPAIR = {"keypair": {"created_at": "", "deleted": False, "deleted_at": None, "fingerprint": "", "id": 1,
                       "name": "", "public_key": "", "updated_at": ""}}

# seed 000 lines 1252-1290 (List Addresses) and 1345-1355 (ips/<network-id>), D33
IPS = {"addresses": MapOf([ADDRESS]), "attachments": [ATTACHMENT]}
IPS_OF_NETWORK = {"network": MapOf([ADDRESS])}

# seed 000 lines 2968-2985 (List), 3030 (details), 3085-3095 (Allocation): D54 keeps all five keys, null when
# unset; the pool is set here (the example's null), instance_id is the server's serial as a string (D11)
FLOATING_IP = {"instance_id": Nullable(""), "ip": "", "fixed_ip": Nullable(""), "id": 42, "pool": Nullable("")}
