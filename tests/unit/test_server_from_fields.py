"""server_from_fields (domain/server_models.py): the list path's Server without the frozen dataclass __init__ is the
same Server, and still refuses a missing or unknown field."""
from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest

from nodecompute.domain.server_models import SERVER_FIELDS, Server, ServerNic, server_from_fields


def _values() -> dict:
    at = datetime(2026, 12, 3, 22, 0, 0, 123456)
    values = {name: None for name in SERVER_FIELDS}
    values.update(uuid="u-1", serial=7, name="vm", project_id="p", user_id="u", hostname="vm", flavorid="42",
                  flavor_name="m1.nano", memory_mb=128, vcpus=1, root_gb=1, root_disk_bytes=1 << 30, ephemeral_gb=0,
                  swap=0, image_id="img", config_drive=False, access_ipv4="", access_ipv6="", disk_config="MANUAL",
                  availability_zone="nova", vm_state="active", power_state=1, progress=0, launch_index=0,
                  reservation_id="r-1", locked=False, scheduler_hints={}, created_at=at, updated_at=at, deleted=False,
                  metadata={"k": "v"}, tags=("t",), flavor_extra_specs={}, device_tags=(), guest_channels=(),
                  nics=(ServerNic(port_id="p-1", network_id="n-1", network_name="net", mac="fa:16:3e:00:00:01"),))
    return values


def test_it_is_the_server_the_dataclass_makes():
    made = server_from_fields(_values())
    assert made == Server(**_values())
    assert made.instance_name == "instance-00000007" and made.nics[0].tap == "tapp-1"
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.name = "other"  # still frozen


@pytest.mark.parametrize("change", [lambda v: v.pop("locked_reason"), lambda v: v.update(colour="red")])
def test_a_missing_or_unknown_field_is_refused(change):
    values = _values()
    change(values)
    with pytest.raises(TypeError, match="Server fields"):
        server_from_fields(values)
