"""Ladder steps 2.2 to 2.52 (issue 9), in our own words; see microversion_ladder.py for the fields."""
from __future__ import annotations

from nodecompute.api.microversion_ladder import (CREATE, DETAIL, EVERY_ROUTE, KEYPAIRS, LIMITS, LIST, QUOTA_CLASSES,
                                                 QUOTA_SETS, REBUILD, SERVER_VIEWS, SHOW, UPDATE, Step, act, change,
                                                 done, not_applicable, owned, todo)

REMOTE = ("POST", "/servers/{server_id}/remote-consoles")
OLD_CONSOLES = tuple(act(key) for key in ("os-getVNCConsole", "os-getSPICEConsole", "os-getSerialConsole",
                                          "os-getRDPConsole"))
SERVICES = (("GET", "/os-services"), ("PUT", "/os-services/{service_id}"))
GROUPS = (("GET", "/os-server-groups"), ("POST", "/os-server-groups"), ("GET", "/os-server-groups/{server_group_id}"))
HYPERVISOR = ("GET", "/os-hypervisors/{hypervisor_id}")
MIGRATIONS = ("GET", "/os-migrations")
SERVER_MIGRATION = "/servers/{server_id}/migrations/{migration_id}"
INSTANCE_ACTIONS = (("GET", "/servers/{server_id}/os-instance-actions"),
                    ("GET", "/servers/{server_id}/os-instance-actions/{request_id}"))
USAGE = (("GET", "/os-simple-tenant-usage"), ("GET", "/os-simple-tenant-usage/{tenant_id}"))
PROXIES = tuple((method, path) for path, methods in (
    ("/images", ("GET",)), ("/images/detail", ("GET",)), ("/images/{image_id}", ("GET", "DELETE")),
    ("/os-networks", ("GET",)), ("/os-networks/{network_id}", ("GET",)), ("/os-tenant-networks", ("GET",)),
    ("/os-tenant-networks/{network_id}", ("GET",)), ("/os-floating-ips", ("GET", "POST")),
    ("/os-floating-ips/{floating_ip_id}", ("GET", "DELETE")), ("/os-floating-ip-pools", ("GET",)),
    ("/os-security-groups", ("GET", "POST")), ("/os-security-groups/{security_group_id}", ("GET", "PUT", "DELETE")),
    ("/os-security-group-rules", ("POST",)), ("/os-security-group-rules/{security_group_rule_id}", ("DELETE",)),
    ("/os-volumes", ("GET", "POST")), ("/os-volumes/detail", ("GET",)), ("/os-volumes/{volume_id}", ("GET", "DELETE")),
    ("/os-snapshots", ("GET", "POST")), ("/os-snapshots/detail", ("GET",)),
    ("/os-snapshots/{snapshot_id}", ("GET", "DELETE")), ("/os-baremetal-nodes", ("GET", "POST")),
    ("/os-baremetal-nodes/{node_id}", ("GET", "DELETE"))) for method in methods)
IMAGE_METADATA = tuple((method, path) for path, methods in (
    ("/images/{image_id}/metadata", ("GET", "POST", "PUT")),
    ("/images/{image_id}/metadata/{key}", ("GET", "PUT", "DELETE"))) for method in methods)
AGGREGATES = (("GET", "/os-aggregates"), ("POST", "/os-aggregates"), ("GET", "/os-aggregates/{aggregate_id}"),
              ("PUT", "/os-aggregates/{aggregate_id}"))
NO_AGGREGATES = ("404 at every version: nodecompute serves no os-aggregates (one host, not in the checklist) but the "
                 "list, which is always empty (openstack hypervisor show reads it)")
EVENTS = ("POST", "/os-server-external-events")

STEPS: tuple[Step, ...] = (
    done("2.2", "Keypairs get a `type` (ssh or x509, default ssh); create answers 201 and delete 204",
         change("request-body", ("POST", "/os-keypairs"), "type"),
         change("view-field", KEYPAIRS[:3], "type"),
         change("status", KEYPAIRS[1], "201"), change("status", KEYPAIRS[3], "204")),
    done("2.3", "More `OS-EXT-SRV-ATTR:*` server attributes for admins; `delete_on_termination` in "
         "`os-extended-volumes:volumes_attached` items",
         change("view-field", (DETAIL, SHOW), "OS-EXT-SRV-ATTR:reservation_id", "OS-EXT-SRV-ATTR:launch_index",
                "OS-EXT-SRV-ATTR:ramdisk_id", "OS-EXT-SRV-ATTR:kernel_id", "OS-EXT-SRV-ATTR:hostname",
                "OS-EXT-SRV-ATTR:root_device_name", "OS-EXT-SRV-ATTR:user_data",
                "os-extended-volumes:volumes_attached.delete_on_termination")),
    owned("2.4", "networking", "Fixed IP show reports `reserved` (Nova now answers 410 Gone for os-fixed-ips at "
          "every version)", change("view-field", ("GET", "/os-fixed-ips/{fixed_ip}"), "reserved")),
    done("2.5", "Non-admins may filter the server list by `ip6`",
         change("query", (LIST, DETAIL), "ip6")),
    done("2.6", "One remote console API, POST /servers/{id}/remote-consoles, replaces the four "
          "os-get*Console actions (404 from 2.6)",
          change("new-route", REMOTE), change("removed-route", OLD_CONSOLES), also=("consoles",)),
    done("2.7", "Granting a project access to a public flavor is refused with 409",
         change("status", ("POST", "/flavors/{flavor_id}/action", "addTenantAccess"), "409")),
    done("2.8", "Remote consoles accept protocol `mks` with type `webmks`",
          change("request-body", REMOTE, "remote_console.protocol=mks", "remote_console.type=webmks")),
    done("2.9", "Servers show `locked` (true when anyone holds a lock)",
         change("view-field", SERVER_VIEWS, "locked")),
    done("2.10", "Admins list, show, create and delete other users' keypairs with `user_id`; keypairs show "
         "`user_id`",
         change("query", (KEYPAIRS[0], KEYPAIRS[2], KEYPAIRS[3]), "user_id"),
         change("request-body", KEYPAIRS[1], "keypair.user_id")),
    done("2.11", "Services show `forced_down` and can be forced down (PUT /os-services/force-down)",
          change("view-field", SERVICES[0], "forced_down"),
          change("new-route", ("PUT", "/os-services/force-down"))),
    owned("2.12", "networking", "Virtual interfaces show `net_id` (Nova now answers 410 Gone for "
          "os-virtual-interfaces at every version)",
          change("view-field", ("GET", "/servers/{server_id}/os-virtual-interfaces"), "net_id")),
    done("2.13", "Server groups show `project_id` and `user_id`",
          change("view-field", GROUPS, "project_id", "user_id")),
    done("2.14", "Evacuate drops `onSharedStorage` and no longer returns `adminPass`",
          change("request-body", act("evacuate"), "onSharedStorage"),
          change("view-field", act("evacuate"), "adminPass")),
    done("2.15", "Server groups accept the soft-affinity and soft-anti-affinity policies",
          change("request-body", ("POST", "/os-server-groups"), "policies=soft-affinity",
                 "policies=soft-anti-affinity")),
    done("2.16", "Servers show `host_status` (admin by default): UP, DOWN, MAINTENANCE, UNKNOWN or empty",
         change("view-field", (DETAIL, SHOW), "host_status")),
    done("2.17", "New action `trigger_crash_dump` injects an NMI (202)",
         change("new-route", act("trigger_crash_dump"))),
    done("2.18", "The project id in the URL becomes optional (signalling only: routes work both ways)",
         change("behaviour", EVERY_ROUTE, "/v2.1/{project_id}/...", "/v2.1/...")),
    done("2.19", "Servers get a `description`, set at create, update and rebuild",
         change("request-body", (CREATE, UPDATE, REBUILD), "description"),
         change("view-field", SERVER_VIEWS, "description")),
    done("2.20", "Volumes attach to and detach from shelved and shelved-offloaded servers",
          change("behaviour", (("POST", "/servers/{server_id}/os-volume_attachments"),
                               ("DELETE", "/servers/{server_id}/os-volume_attachments/{volume_id}")),
                 "SHELVED", "SHELVED_OFFLOADED")),
    done("2.21", "Instance actions are listed for deleted servers too",
         change("behaviour", INSTANCE_ACTIONS, "deleted servers")),
    done("2.22", "A running live migration can be forced to complete (none ever runs on one host: 409 for a "
         "server not migrating)",
          change("new-route", ("POST", SERVER_MIGRATION + "/action", "force_complete"))),
    done("2.23", "Server migrations list and show; os-migrations shows `migration_type` and a link "
          "for in-progress live migrations",
          change("new-route", (("GET", "/servers/{server_id}/migrations"), ("GET", SERVER_MIGRATION))),
          change("view-field", MIGRATIONS, "migration_type", "links")),
    done("2.24", "A running live migration can be cancelled (none ever runs on one host: 409 for a server not "
         "migrating)",
          change("new-route", ("DELETE", SERVER_MIGRATION))),
    done("2.25", "Live migration takes `block_migration` \"auto\" and drops `disk_over_commit`",
          change("request-body", act("os-migrateLive"), "block_migration=auto", "disk_over_commit")),
    done("2.26", "Server tags: the tags routes, `tags` in server views, and the `tags`, `tags-any`, `not-tags`, "
         "`not-tags-any` filters",
         change("new-route", (("GET", "/servers/{server_id}/tags"), ("PUT", "/servers/{server_id}/tags"),
                              ("DELETE", "/servers/{server_id}/tags"), ("GET", "/servers/{server_id}/tags/{tag}"),
                              ("PUT", "/servers/{server_id}/tags/{tag}"),
                              ("DELETE", "/servers/{server_id}/tags/{tag}"))),
         change("view-field", SERVER_VIEWS, "tags"),
         change("query", (LIST, DETAIL), "tags", "tags-any", "not-tags", "not-tags-any")),
    done("2.27", "The `OpenStack-API-Version: compute 2.x` header works beside `X-OpenStack-Nova-API-Version`",
         change("header", EVERY_ROUTE, "OpenStack-API-Version", "Vary")),
    done("2.28", "Hypervisor `cpu_info` becomes an object instead of a JSON string",
          change("view-field", (("GET", "/os-hypervisors/detail"), HYPERVISOR), "cpu_info")),
    done("2.29", "Evacuate takes `force`; a given host is checked by the scheduler unless forced",
          change("request-body", act("evacuate"), "force")),
    done("2.30", "Live migration takes `force`; a given host is checked by the scheduler unless "
          "forced", change("request-body", act("os-migrateLive"), "force")),
    owned("2.31", "consoles", "Console auth tokens show the connection of every console type, not only RDP",
          change("behaviour", ("GET", "/os-console-auth-tokens/{console_token}"), "console types")),
    done("2.32", "Create accepts a `tag` on `networks` items and on `block_device_mapping_v2` items",
         change("request-body", CREATE, "networks.tag", "block_device_mapping_v2.tag")),
    done("2.33", "Hypervisor lists page with `limit` and `marker`; create loses the block device `tag` (a bug "
         "fixed at 2.42)",
         change("query", (("GET", "/os-hypervisors"), ("GET", "/os-hypervisors/detail")), "limit", "marker"),
         change("request-body", CREATE, "block_device_mapping_v2.tag"), also=("host-views",)),
    done("2.34", "Live migration pre-checks run in the background: no 400 when they fail",
          change("behaviour", act("os-migrateLive"), "202 instead of 400")),
    done("2.35", "Keypair list pages with `limit` and `marker` (sorted by name) and links the next page",
         change("query", KEYPAIRS[0], "limit", "marker"), change("view-field", KEYPAIRS[0], "keypairs_links")),
    done("2.36", "The image, network, volume and baremetal proxies and fping answer 404; limits and quota sets "
         "drop the network keys",
         change("removed-route", PROXIES),
         change("view-field", LIMITS, "maxSecurityGroups", "maxSecurityGroupRules", "maxTotalFloatingIps",
                "totalFloatingIpsUsed", "totalSecurityGroupsUsed"),
         change("view-field", QUOTA_SETS, "fixed_ips", "floating_ips", "networks", "security_groups",
                "security_group_rules"),
         change("request-body", QUOTA_SETS[1], "fixed_ips", "floating_ips", "networks", "security_groups",
                "security_group_rules"),
         also=("networking",)),  # os-volumes and os-snapshots are served up to 2.35 (route_table PROXY)
    done("2.37", "Create requires `networks`: a list, \"auto\" or \"none\"; network `uuid` must be a UUID; the "
         "`networks` item `tag` is lost (until 2.42)",
         change("request-body", CREATE, "networks", "networks=auto", "networks=none", "networks.uuid",
                "networks.tag")),
    done("2.38", "An unknown `status` filter on the server lists gives 400",
         change("query", (LIST, DETAIL), "status"), change("status", (LIST, DETAIL), "400")),
    done("2.39", "The image metadata proxy answers 404; limits drop `maxImageMeta`",
         change("removed-route", IMAGE_METADATA), change("view-field", LIMITS, "maxImageMeta")),
    done("2.40", "Usage pages with `limit` and `marker` and links the next page",
          change("query", USAGE, "limit", "marker"), change("view-field", USAGE, "tenant_usages_links")),
    not_applicable("2.41", NO_AGGREGATES, "Aggregates show their `uuid`",
                   change("view-field", AGGREGATES, "uuid")),
    done("2.42", "Create accepts the device `tag` again on `networks` and `block_device_mapping_v2` items",
         change("request-body", CREATE, "networks.tag", "block_device_mapping_v2.tag")),
    done("2.43", "The os-hosts API answers 404",
          change("removed-route", tuple((method, path) for method, path in (
              ("GET", "/os-hosts"), ("GET", "/os-hosts/{host_name}"), ("PUT", "/os-hosts/{host_name}"),
              ("GET", "/os-hosts/{host_name}/reboot"), ("GET", "/os-hosts/{host_name}/shutdown"),
              ("GET", "/os-hosts/{host_name}/startup"))))),
    done("2.44", "The addFixedIp, removeFixedIp, addFloatingIp and removeFloatingIp actions answer 404 "
         "(os-virtual-interfaces, deprecated too, now answers 410 at every version); the floating IP actions are "
         "served up to 2.43 and 404 from 2.44 (issue 15); the fixed IP ones, never served, and os-virtual-interfaces "
         "stay networking's",
         change("removed-route", (act("addFixedIp"), act("removeFixedIp"), act("addFloatingIp"),
                                  act("removeFloatingIp"))), also=("networking",)),
    done("2.45", "createImage and createBackup answer `{\"image_id\"}` instead of a Location header",
         change("view-field", (act("createImage"), act("createBackup")), "image_id"),
         change("header", (act("createImage"), act("createBackup")), "Location")),
    done("2.46", "Responses carry `X-OpenStack-Request-ID` beside `X-Compute-Request-ID` (signalling only)",
         change("header", EVERY_ROUTE, "X-OpenStack-Request-ID")),
    done("2.47", "Servers embed their flavor (`original_name`, `vcpus`, `ram`, `disk`, `ephemeral`, `swap`, "
         "`extra_specs`) instead of an id and links",
         change("view-field", SERVER_VIEWS, "flavor.original_name", "flavor.vcpus", "flavor.ram", "flavor.disk",
                "flavor.ephemeral", "flavor.swap", "flavor.extra_specs", "flavor.id", "flavor.links")),
    done("2.48", "Server diagnostics have one standard shape for every hypervisor",
          change("view-field", ("GET", "/servers/{server_id}/diagnostics"), "state", "driver", "hypervisor",
                 "hypervisor_os", "uptime", "config_drive", "num_cpus", "num_nics", "num_disks", "cpu_details",
                 "nic_details", "disk_details", "memory_details")),
    done("2.49", "Interfaces and volumes are attached with a device `tag`",
         change("request-body", (("POST", "/servers/{server_id}/os-interface"),
                                 ("POST", "/servers/{server_id}/os-volume_attachments")), "tag")),
    done("2.50", "Quota classes show `server_groups` and `server_group_members` and drop the network quotas",
         change("view-field", QUOTA_CLASSES, "server_groups", "server_group_members", "fixed_ips", "floating_ips",
                "networks", "security_groups", "security_group_rules"),
         change("request-body", QUOTA_CLASSES[1], "fixed_ips", "floating_ips", "networks", "security_groups",
                "security_group_rules")),
    done("2.51", "Non-admins see instance action `events` (without `traceback`); the "
         "volume-extended external event (os-server-external-events is not served: 404)",
         change("view-field", INSTANCE_ACTIONS[1], "events"),
         change("request-body", EVENTS, "events.name=volume-extended")),
    done("2.52", "Create takes `tags`", change("request-body", CREATE, "tags")),
)
