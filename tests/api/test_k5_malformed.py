"""K5's own request handlers (create, metadata POST, os-volumes create, attach, Cinder v2 create, fcx-restore) answer
malformed bodies with a 4xx in K5's fault shape, never a 5xx, and change nothing."""
from __future__ import annotations

import json

from nodecompute.api.keys import identity_key
from tests.api.test_servers_api import api, servers_api  # noqa: F401 (fixtures)

BODIES = [b"", b"[]", b'"x"', b"{}", b'{"server": []}', b'{"server": {"networks": 5, "imageRef": 1}}',
          json.dumps({"server": {"name": "a", "flavorRef": "1", "imageRef": "x", "networks": [],
                                 "block_device_mapping_v2": ["x", {"config_drive": []}], "config_drive": {}}}).encode(),
          b'{"metadata": []}', b'{"volume": {"size": "99999999999999999999"}}', b'{"volume": []}',
          b'{"volume": {"source_vol_id": 5}}', b'{"volumeAttachment": []}', b'{"volumeAttachment": {"device": 5}}',
          b'{"fcx-restore": 5}', b'{"snapshot": 1}']
PATHS = ["/v2/servers", "/v2/servers/00000000-0000-0000-0000-000000000001/metadata", "/v2/os-volumes",
         "/v1.1/{tenant}/os-volumes", "/v2/servers/00000000-0000-0000-0000-000000000001/os-volume_attachments",
         "/volume/v2/{tenant}/volumes", "/volume/v2/{tenant}/snapshots/00000000-0000-0000-0000-000000000002/action",
         "/v2/os-keypairs", "/v2/os-server-groups"]


async def test_no_malformed_body_gets_a_5xx(api, admin_token):  # noqa: F811
    tenant = api.client.server.app[identity_key].validate(admin_token).project_id
    for path in PATHS:
        url = "/k5" + path.format(tenant=tenant)
        for body in BODIES:
            resp = await api.client.post(url, data=body, headers={"X-Auth-Token": admin_token,
                                                                  "Content-Type": "application/json"})
            text = await resp.text()
            assert 400 <= resp.status < 500, (path, body, resp.status, text)
            assert len(json.loads(text)) == 1, text  # one fault key
    listed = await api.client.get("/k5/v2/servers", headers={"X-Auth-Token": admin_token})
    assert (await listed.json())["servers"] == []
