"""The operator's CLI against a running app: what it disables, deletes or revokes is refused on the next request,
even though the app caches validated tokens (the cache follows SQLite's data_version)."""
from __future__ import annotations

import subprocess
import sys

from nodecompute.__main__ import main


async def test_cli_in_another_process_disables_at_once_and_enable_revives_nothing(api, make_user, cfg_file):
    token = await make_user("demo", "member", name="alice")
    assert (await api.get("/flavors", token)).status == 200  # now cached as valid
    result = subprocess.run([sys.executable, "-m", "nodecompute", "--config", str(cfg_file), "user", "disable",
                             "alice"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert (await api.get("/flavors", token)).status == 401
    assert main(["--config", str(cfg_file), "user", "enable", "alice"]) == 0
    assert (await api.get("/flavors", token)).status == 401  # Keystone revoked it at disable
    fresh = await api.token("alice", "pw-alice", "demo")
    assert (await api.get("/flavors", fresh)).status == 200


async def test_project_disable_and_token_revocation_apply_at_once(api, make_user, cfg_file):
    token = await make_user("demo", "member", name="alice")
    assert (await api.get("/flavors", token)).status == 200
    assert main(["--config", str(cfg_file), "project", "disable", "demo"]) == 0
    assert (await api.get("/flavors", token)).status == 401
    assert main(["--config", str(cfg_file), "project", "enable", "demo"]) == 0
    assert (await api.get("/flavors", token)).status == 401
    second = await api.token("alice", "pw-alice", "demo")
    assert (await api.get("/flavors", second)).status == 200
    assert main(["--config", str(cfg_file), "user", "revoke-tokens", "alice"]) == 0
    assert (await api.get("/flavors", second)).status == 401
    third = await api.token("alice", "pw-alice", "demo")
    assert main(["--config", str(cfg_file), "user", "set-password", "alice", "--password", "changed"]) == 0
    assert (await api.get("/flavors", third)).status == 401
    assert (await api.token("alice", "changed", "demo"))
