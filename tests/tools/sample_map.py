"""Nova sample files that api-ref does not include (not even under another version directory), tied to their
operation by hand from the file's name and content: (base, method, path, action, side).

Paths use api-ref's parameter names. SKIPPED_SAMPLES are samples of a non-default deployment (the no-op quota
driver) or of the legacy v2.0 document, which the oracle does not compare against.
"""

V = "/v2.1"
SERVER = "/servers/{server_id}"
ACTION = "/servers/{server_id}/action"
QUOTAS = "/os-quota-sets/{tenant_id}"
HYPERVISOR_SERVERS = "/os-hypervisors/{hypervisor_hostname_pattern}/servers"
REMOTE = "/servers/{server_id}/remote-consoles"
SHARE = "/servers/{server_id}/shares"
INSTANCE_ACTIONS = "/servers/{server_id}/os-instance-actions"


def _files(folder: str, versions: tuple[str, ...], name: str) -> list[str]:
    return [f"{folder}/{v + '/' if v else ''}{name}" for v in versions]


def _table() -> dict[str, tuple]:
    table: dict[str, tuple] = {
        "extension-info/extensions-list-resp-v21-compatible.json": (V, "GET", "/extensions", None, "response"),
        "os-floating-ips/floating-ips-list-empty-resp.json": (V, "GET", "/os-floating-ips", None, "response"),
        "os-migrate-server/v2.56/migrate-server-null.json": (V, "POST", ACTION, "migrate", "request"),
        "os-multiple-create/multiple-create-no-resv-post-req.json": (V, "POST", "/servers", None, "request"),
        "os-preserve-ephemeral-rebuild/server-action-rebuild-preserve-ephemeral.json":
            (V, "POST", ACTION, "rebuild", "request"),
        "os-preserve-ephemeral-rebuild/server-action-rebuild-preserve-ephemeral-resp.json":
            (V, "POST", ACTION, "rebuild", "response"),
        "os-remote-consoles/v2.6/create-rdp-console-req.json": (V, "POST", REMOTE, None, "request"),
        "os-remote-consoles/v2.8/create-mks-console-req.json": (V, "POST", REMOTE, None, "request"),
        "os-remote-consoles/v2.8/create-mks-console-resp.json": (V, "POST", REMOTE, None, "response"),
        "os-console-auth-tokens/v2.31/create-serial-console-req.json": (V, "POST", REMOTE, None, "request"),
        "os-console-auth-tokens/v2.99/create-spice-direct-console-req.json": (V, "POST", REMOTE, None, "request"),
        "os-server-shares/v2.97/server-shares-admin-create-resp.json": (V, "POST", SHARE, None, "response"),
        "os-server-shares/v2.97/server-shares-create-tag-req.json": (V, "POST", SHARE, None, "request"),
        "os-server-tags/v2.26/server-tags-show-details-resp.json": (V, "GET", SERVER, None, "response"),
        "os-server-tags/v2.26/servers-tags-details-resp.json": (V, "GET", "/servers/detail", None, "response"),
        "os-server-topology/v2.78/servers-topology-resp-user.json":
            (V, "GET", "/servers/{server_id}/topology", None, "response"),
        "os-simple-tenant-usage/v2.40/simple-tenant-usage-get-all.json":
            (V, "GET", "/os-simple-tenant-usage", None, "response"),
        "os-virtual-interfaces/vifs-list-resp-v2.json":
            (V, "GET", "/servers/{server_id}/os-virtual-interfaces", None, "response"),
        "servers-sort/server-sort-keys-list-resp.json": (V, "GET", "/servers", None, "response"),
        "servers/server-create-req-v237.json": (V, "POST", "/servers", None, "request"),
        "servers/server-create-req-v257.json": (V, "POST", "/servers", None, "request"),
        "servers/servers-list-status-resp.json": (V, "GET", "/servers", None, "response"),
        "servers/v2.19/server-put-req.json": (V, "PUT", SERVER, None, "request"),
        "servers/v2.19/server-put-resp.json": (V, "PUT", SERVER, None, "response"),
        "servers/v2.66/servers-details-with-changes-before.json": (V, "GET", "/servers/detail", None, "response"),
        "servers/v2.66/servers-list-with-changes-before.json": (V, "GET", "/servers", None, "response"),
        "servers/v2.71/server-get-down-cell-resp.json": (V, "GET", SERVER, None, "response"),
        "servers/v2.71/server-groups-post-req.json": (V, "POST", "/os-server-groups", None, "request"),
        "servers/v2.71/server-groups-post-resp.json": (V, "POST", "/os-server-groups", None, "response"),
        "servers/v2.73/lock-server-with-reason.json": (V, "POST", ACTION, "lock", "request"),
        "servers/v2.74/server-create-req-with-only-host.json": (V, "POST", "/servers", None, "request"),
        "servers/v2.74/server-create-req-with-only-node.json": (V, "POST", "/servers", None, "request"),
        "os-server-shares/v2.97/server-shares-delete-req.json":
            (V, "DELETE", "/servers/{server_id}/shares/{share_id}", None, "request"),
    }
    versions = ("", "v2.14", "v2.29", "v2.68", "v2.95")
    for name in _files("os-evacuate", versions, "server-evacuate-find-host-req.json"):
        table[name] = (V, "POST", ACTION, "evacuate", "request")
    table["os-evacuate/server-evacuate-find-host-resp.json"] = (V, "POST", ACTION, "evacuate", "response")
    for name in _files("flavor-access", ("", "v2.7"), "flavor-create-req.json"):
        table[name] = (V, "POST", "/flavors", None, "request")
    for name in _files("os-hypervisors", ("", "v2.28"), "hypervisors-without-servers-resp.json"):
        table[name] = (V, "GET", HYPERVISOR_SERVERS, None, "response")
    table["os-hypervisors/v2.53/hypervisors-without-servers-resp.json"] = (V, "GET", "/os-hypervisors", None,
                                                                           "response")
    for name in _files("os-hypervisors", ("v2.53", "v2.88"), "hypervisors-detail-with-servers-resp.json"):
        table[name] = (V, "GET", "/os-hypervisors/detail", None, "response")
    table["os-hypervisors/v2.28/hypervisors-with-servers-resp.json"] = (V, "GET", HYPERVISOR_SERVERS, None,
                                                                        "response")
    table["os-hypervisors/v2.88/hypervisors-with-servers-resp.json"] = (V, "GET", "/os-hypervisors", None,
                                                                        "response")
    for what, path in (("disable-log", "/os-services/disable-log-reason"), ("enable", "/os-services/enable")):
        for side, suffix in (("request", "req"), ("response", "resp")):
            table[f"os-services/v2.11/service-{what}-put-{suffix}.json"] = (V, "PUT", path, None, side)
    for version in ("v2.58", "v2.62", "v2.66", "v2.84"):
        for kind in ("changes-since", "changes-before", "marker-resp"):
            table[f"os-instance-actions/{version}/instance-actions-list-with-{kind}.json"] = (
                V, "GET", INSTANCE_ACTIONS, None, "response")
    for version in ("v2.59", "v2.66", "v2.80"):
        for kind in ("changes-since", "changes-before", "marker", "user-or-project-id"):
            table[f"os-migrations/{version}/migrations-get-with-{kind}.json"] = (
                V, "GET", "/os-migrations", None, "response")
    for version in ("", "v2.2", "v2.10", "v2.35", "v2.92"):
        for side, suffix in (("request", "req"), ("response", "resp")):
            table[f"os-keypairs/{version + '/' if version else ''}keypairs-post-{suffix}.json"] = (
                V, "POST", "/os-keypairs", None, side)
    for user in ("user1", "user2"):
        table[f"os-keypairs/v2.35/keypairs-list-{user}-resp.json"] = (V, "GET", "/os-keypairs", None, "response")
    for version in ("", "v2.36", "v2.57"):
        prefix = f"os-quota-sets/{version + '/' if version else ''}"
        table[prefix + "quotas-show-get-resp.json"] = (V, "GET", QUOTAS, None, "response")
        table[prefix + "quotas-update-force-post-resp.json"] = (V, "PUT", QUOTAS, None, "response")
        table[prefix + "user-quotas-update-post-req.json"] = (V, "PUT", QUOTAS, None, "request")
        table[prefix + "user-quotas-update-post-resp.json"] = (V, "PUT", QUOTAS, None, "response")
    for name in _files("os-rescue", ("", "v2.87"), "server-get-resp-rescue.json") + _files(
            "os-rescue", ("", "v2.87"), "server-get-resp-unrescue.json"):
        table[name] = (V, "GET", SERVER, None, "response")
    for name in _files("os-rescue", ("", "v2.87"), "server-rescue-req.json"):
        table[name] = (V, "POST", ACTION, "rescue", "request")
    for version in ("v2.22", "v2.24", "v2.65", "v2.80"):
        table[f"server-migrations/{version}/live-migrate-server.json"] = (V, "POST", ACTION, "os-migrateLive",
                                                                          "request")
    return table


EXTRA_SAMPLES = _table()

SKIPPED_SAMPLES = frozenset(
    ["versions/v2-version-get-resp.json"]
    + [f"os-quota-sets-noop/{name}.json" for name in (
        "quotas-show-defaults-get-resp", "quotas-show-detail-get-resp", "quotas-show-get-resp",
        "quotas-update-force-post-req", "quotas-update-force-post-resp", "quotas-update-post-req",
        "quotas-update-post-resp", "user-quotas-show-get-resp", "user-quotas-update-post-req",
        "user-quotas-update-post-resp")])
