import json
from tests.api.test_fuzz_openapi import _drawable
from tests.api.test_servers_api import api, servers_api  # noqa
async def test_print(api):
    for v in ("2.101", "2.1"):
        doc = await (await api.client.get("/openapi.json", params={"version": v})).json()
        op = doc["paths"]["/compute/v2.1/servers/{server_id}/action"]["post"]
        sch = _drawable(op["requestBody"]["content"]["application/json"]["schema"])
        for b in sch["oneOf"]:
            print(v, list(b.get("properties", {})), b.get("additionalProperties"), b.get("required"), json.dumps(b)[:150] if b.get("additionalProperties") is not False else "")
