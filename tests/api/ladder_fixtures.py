"""Fixtures of the microversion ladder tests of the server routes (tests/api/test_ladder_servers_*.py): the whole
app on the libvirt test driver, its compute face negotiating up to conftest's LADDER_TOP, and helpers to send a
request at a microversion and to put server rows in the store."""
from __future__ import annotations

import uuid
from typing import Any

import pytest

from nodecompute.api.keys import servers_key
from nodecompute.app import store_key
from nodecompute.db import identity as idb
from nodecompute.db import servers as sdb
from nodecompute.domain import states
from nodecompute.domain.models import isotime, utcnow
from tests.api.helpers import Api

IMAGE_ID = "155d900f-4e14-4e4c-a73d-069cbf4541e6"


@pytest.fixture
async def ladder(aiohttp_client, ladder_app) -> Api:
    """The whole app, servers included, its compute face negotiating up to conftest's LADDER_TOP."""
    client = await aiohttp_client(ladder_app())
    yield Api(client)
    service = client.server.app[servers_key]
    await service.wait_idle()
    for server in service.store.read(sdb.list_all_live):  # test:///default is shared by the whole process
        await service.guests.destroy(server.uuid, server.instance_name)


@pytest.fixture
def api(ladder) -> Api:
    """conftest's admin_token and make_user work on this app."""
    return ladder


def at(version: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """Request keyword arguments asking for a microversion (the header the SDK and the CLI send)."""
    return {"headers": {"OpenStack-API-Version": f"compute {version}", **(headers or {})}}


def project_id(api: Api, name: str) -> str:
    return api.client.server.app[store_key].read(idb.find_project, name).id


def row(project: str, **over) -> dict:
    when = over.pop("when", utcnow())
    found = {
        "uuid": str(uuid.uuid4()), "name": "srv", "project_id": project, "user_id": "u-1", "hostname": "srv",
        "flavorid": "42", "flavor_name": "m1.nano", "memory_mb": 128, "vcpus": 1, "root_gb": 1, "ephemeral_gb": 0,
        "swap": 0, "image_id": IMAGE_ID, "image_sha256": None, "key_name": None, "key_data": None,
        "user_data": None, "config_drive": 1, "access_ipv4": "", "access_ipv6": "", "disk_config": "MANUAL",
        "availability_zone": "nova", "vm_state": states.ACTIVE, "task_state": None, "power_state": states.RUNNING,
        "launch_index": 0, "reservation_id": "r-abcd1234", "host": "testhost", "scheduler_hints": {},
        "created_at": isotime(when), "updated_at": isotime(when), "launched_at": isotime(when),
    }
    found.update(over)
    return found


async def insert(api: Api, project: str, metadata: dict | None = None, tags: tuple[str, ...] = (), **over):
    """A server row straight into the store (no guest)."""
    store = api.client.server.app[store_key]
    return (await store.write(sdb.insert_servers, [row(project, **over)], metadata or {}, [], tags))[0]
