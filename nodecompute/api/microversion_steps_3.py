"""Ladder steps 2.53 to Nova's maximum (issue 10), in our own words; see microversion_ladder.py for the fields."""
from __future__ import annotations

from nodecompute.api.microversion_ladder import (CREATE, DETAIL, EVERY_ROUTE, FLAVOR_VIEWS, KEYPAIRS, LIMITS, LIST,
                                                 QUOTA_CLASSES, QUOTA_SETS, REBUILD, SERVER_VIEWS, SHOW, UPDATE, Step,
                                                 act, change, done, not_applicable, owned, todo)
from nodecompute.api.microversion_steps_2 import (AGGREGATES, EVENTS, INSTANCE_ACTIONS, MIGRATIONS, NO_AGGREGATES,
                                                  REMOTE, SERVER_MIGRATION, SERVICES)

HYPERVISORS = (("GET", "/os-hypervisors"), ("GET", "/os-hypervisors/detail"),
               ("GET", "/os-hypervisors/{hypervisor_id}"))
SERVER_MIGRATIONS = (("GET", "/servers/{server_id}/migrations"), ("GET", SERVER_MIGRATION))
ATTACHMENTS = (("GET", "/servers/{server_id}/os-volume_attachments"),
               ("POST", "/servers/{server_id}/os-volume_attachments"),
               ("GET", "/servers/{server_id}/os-volume_attachments/{volume_id}"))
INTERFACES = (("GET", "/servers/{server_id}/os-interface"), ("POST", "/servers/{server_id}/os-interface"),
              ("GET", "/servers/{server_id}/os-interface/{port_id}"))
GROUPS_ALL = (("GET", "/os-server-groups"), ("POST", "/os-server-groups"),
              ("GET", "/os-server-groups/{server_group_id}"))
EXTRA_SPECS_SET = (("POST", "/flavors/{flavor_id}/os-extra_specs"),
                   ("PUT", "/flavors/{flavor_id}/os-extra_specs/{flavor_extra_spec_key}"))
FLAVOR_LISTS = (("GET", "/flavors"), ("GET", "/flavors/detail"))
SHARES = (("GET", "/servers/{server_id}/shares"), ("POST", "/servers/{server_id}/shares"),
          ("GET", "/servers/{server_id}/shares/{share_id}"), ("DELETE", "/servers/{server_id}/shares/{share_id}"))
NO_EVENTS = ("404 at every version: nodecompute serves no os-server-external-events (its own libvirt events keep "
             "power states true)")
BOOT = "/os-volumes_boot"

STEPS: tuple[Step, ...] = (
    done("2.53", "Services and hypervisors are identified by UUID; PUT /os-services/{id} replaces "
          "enable, disable, disable-log-reason and force-down; hypervisor search and servers become query "
          "parameters", change("view-field", SERVICES[:1] + HYPERVISORS, "id", "service.id"),
          change("new-route", SERVICES[1]),
          change("removed-route", tuple(("PUT", f"/os-services/{what}") for what in (
              "enable", "disable", "disable-log-reason", "force-down")) + (
              ("GET", "/os-hypervisors/{hypervisor_hostname_pattern}/search"),
              ("GET", "/os-hypervisors/{hypervisor_hostname_pattern}/servers"))),
          change("query", HYPERVISORS, "hypervisor_hostname_pattern", "with_servers")),
    done("2.54", "Rebuild can replace the server's keypair (`key_name`)",
         change("request-body", REBUILD, "key_name"), change("view-field", REBUILD, "key_name")),
    done("2.55", "Flavors get a `description`, set at create and with the new PUT /flavors/{flavor_id}",
         change("view-field", FLAVOR_LISTS + FLAVOR_VIEWS[1:], "description"),
         change("request-body", FLAVOR_VIEWS[2:], "flavor.description"),
         change("new-route", ("PUT", "/flavors/{flavor_id}"))),
    done("2.56", "Cold migration takes a target `host`, checked by the scheduler",
          change("request-body", act("migrate"), "host")),
    done("2.57", "Personality files are gone from create and rebuild; rebuild takes `user_data`; limits and quotas "
         "drop the injected-file keys",
         change("request-body", (CREATE, REBUILD), "personality"),
         change("request-body", REBUILD, "user_data"), change("view-field", REBUILD, "user_data"),
         change("view-field", LIMITS, "maxPersonality", "maxPersonalitySize"),
         change("view-field", QUOTA_SETS + QUOTA_CLASSES, "injected_files", "injected_file_content_bytes",
                "injected_file_path_bytes"),
         change("request-body", (QUOTA_SETS[1], QUOTA_CLASSES[1]), "injected_files", "injected_file_content_bytes",
                "injected_file_path_bytes")),
    done("2.58", "Instance actions page with `limit`/`marker`, filter by `changes-since` and "
         "show `updated_at`", change("query", INSTANCE_ACTIONS[0], "limit", "marker", "changes-since"),
         change("view-field", INSTANCE_ACTIONS, "updated_at", "links")),
    done("2.59", "Migrations page with `limit`/`marker`, filter by `changes-since`, show `uuid`; "
          "unknown os-migrations query parameters give 400",
          change("query", MIGRATIONS, "limit", "marker", "changes-since"),
          change("view-field", (MIGRATIONS,) + SERVER_MIGRATIONS, "uuid", "migrations_links")),
    done("2.60", "A multiattach volume may be attached to several servers (this host cannot share a qcow2 volume "
         "between guests: attach refuses a multiattach volume with Nova's old-microversion fault below 2.60 and "
         "the driver's 'not supported' from 2.60; create still refuses every volume mapping)",
         change("behaviour", (CREATE, ATTACHMENTS[1]), "multiattach"), also=("volumes",)),
    done("2.61", "Flavor views carry `extra_specs` (when policy lets the user read them)",
         change("view-field", FLAVOR_VIEWS, "extra_specs")),
    done("2.62", "Instance action events show `host` and `hostId`",
         change("view-field", INSTANCE_ACTIONS[1], "events.host", "events.hostId")),
    done("2.63", "Create and rebuild take `trusted_image_certificates`; servers show it (answered as a cloud "
         "without certificate validation)",
         change("request-body", (CREATE, REBUILD), "trusted_image_certificates"),
         change("view-field", SERVER_VIEWS, "trusted_image_certificates")),
    done("2.64", "Server groups take one `policy` and `rules` (max_server_per_host) instead of "
          "`policies` and `metadata`",
          change("request-body", GROUPS_ALL[1], "policy", "rules", "policies"),
          change("view-field", GROUPS_ALL, "policy", "rules", "policies", "metadata")),
    done("2.65", "Live migrations still queued or preparing can be aborted",
          change("behaviour", ("DELETE", SERVER_MIGRATION), "queued", "preparing")),
    done("2.66", "The `changes-before` filter on server lists, instance actions and migrations",
         change("query", (LIST, DETAIL, INSTANCE_ACTIONS[0], MIGRATIONS), "changes-before"),
         also=("host-views",)),
    done("2.67", "Block device mappings at create take a `volume_type`",
         change("request-body", CREATE, "block_device_mapping_v2.volume_type"), also=("volumes",)),
    done("2.68", "Evacuate and live migration no longer take `force`",
          change("request-body", (act("evacuate"), act("os-migrateLive")), "force")),
    not_applicable("2.69", "the full server and service views at every version: one host has no cell that can be "
                   "down, so the minimal down-cell records never appear",
                   "Servers and services in a cell that is down are listed with a minimal record instead of failing",
                   change("view-field", (LIST, DETAIL, SHOW, SERVICES[0]), "status=UNKNOWN")),
    done("2.70", "Volume attachments and interfaces show their device `tag`",
         change("view-field", ATTACHMENTS + INTERFACES, "tag")),
    done("2.71", "Server show, update and rebuild include `server_groups`",
         change("view-field", (SHOW, UPDATE, REBUILD), "server_groups")),
    owned("2.72", "networking", "Create accepts Neutron ports that carry a resource request (minimum bandwidth)",
          change("behaviour", CREATE, "networks.port with resource_request")),
    done("2.73", "Lock takes `locked_reason`; servers show it; `locked` filters and sorts the lists",
         change("request-body", act("lock"), "locked_reason"),
         change("view-field", SERVER_VIEWS, "locked_reason"),
         change("query", (LIST, DETAIL), "locked", "sort_key=locked")),
    done("2.74", "Create takes a target `host` and `hypervisor_hostname` (admin), checked by the scheduler",
         change("request-body", CREATE, "host", "hypervisor_hostname")),
    done("2.75", "Unknown query parameters and body keys give 400; update and rebuild answer the full server; "
         "flavor `swap` 0 instead of \"\"; hypervisors always list `servers`",
         change("query", EVERY_ROUTE, "additionalProperties"),
         change("view-field", (UPDATE, REBUILD), "full server"),
         change("view-field", FLAVOR_VIEWS, "swap"),
         change("view-field", HYPERVISORS, "servers"), also=("host-views",)),
    not_applicable("2.76", NO_EVENTS, "The `power-update` external event",
                   change("request-body", EVENTS, "events.name=power-update")),
    done("2.77", "Unshelving a shelved-offloaded server takes an `availability_zone`",
          change("request-body", act("unshelve"), "availability_zone")),
    done("2.78", "GET /servers/{server_id}/topology shows the guest's NUMA topology",
         change("new-route", ("GET", "/servers/{server_id}/topology"))),
    done("2.79", "Volume attach takes `delete_on_termination`; attachments show it",
         change("request-body", ATTACHMENTS[1], "delete_on_termination"),
         change("view-field", ATTACHMENTS, "delete_on_termination")),
    done("2.80", "Migrations show `user_id` and `project_id`; os-migrations filters by them",
          change("query", MIGRATIONS, "user_id", "project_id"),
          change("view-field", (MIGRATIONS,) + SERVER_MIGRATIONS, "user_id", "project_id")),
    not_applicable("2.81", NO_AGGREGATES, "Images can be cached on the hosts of an aggregate",
                   change("new-route", ("POST", "/os-aggregates/{aggregate_id}/images")),
                   change("behaviour", AGGREGATES[:1], "image cache")),
    not_applicable("2.82", NO_EVENTS, "The `accelerator-request-bound` external event",
                   change("request-body", EVENTS, "events.name=accelerator-request-bound")),
    done("2.83", "Non-admins may filter server lists by `availability_zone`, `config_drive`, `key_name`, "
         "`created_at`, `launched_at`, `terminated_at`, `power_state`, `task_state`, `vm_state`, `progress`, "
         "`user_id`",
         change("query", (LIST, DETAIL), "availability_zone", "config_drive", "key_name", "created_at",
                "launched_at", "terminated_at", "power_state", "task_state", "vm_state", "progress", "user_id")),
    done("2.84", "Failed instance action events show `details`",
         change("view-field", INSTANCE_ACTIONS[1], "events.details")),
    done("2.85", "PUT on a volume attachment can change `delete_on_termination`",
          change("request-body", ("PUT", "/servers/{server_id}/os-volume_attachments/{volume_id}"),
                 "volumeAttachment.delete_on_termination")),
    done("2.86", "Extra specs in the known namespaces are validated against Nova's registry",
         change("request-body", EXTRA_SPECS_SET, "extra_specs"), change("status", EXTRA_SPECS_SET, "400")),
    done("2.87", "Servers booted from volume can be rescued (a rescue image with hw_rescue_bus and "
         "hw_rescue_device boots first, the root volume follows)",
         change("behaviour", act("rescue"), "boot from volume")),
    done("2.88", "Hypervisors drop the resource fields; statistics and uptime routes answer 404; "
          "`uptime` moves into the hypervisor",
          change("view-field", HYPERVISORS[1:], "vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used",
                 "local_gb_used", "free_ram_mb", "free_disk_gb", "current_workload", "running_vms",
                 "disk_available_least", "cpu_info", "uptime"),
          change("removed-route", (("GET", "/os-hypervisors/statistics"),
                                   ("GET", "/os-hypervisors/{hypervisor_id}/uptime")))),
    done("2.89", "Volume attachments show `attachment_id` and `bdm_uuid` and drop `id`",
         change("view-field", (ATTACHMENTS[0], ATTACHMENTS[2]), "attachment_id", "bdm_uuid", "id")),
    done("2.90", "Create, update and rebuild take a `hostname`; `OS-EXT-SRV-ATTR:hostname` is shown to everyone",
         change("request-body", (CREATE, UPDATE, REBUILD), "hostname"),
         change("view-field", SERVER_VIEWS, "OS-EXT-SRV-ATTR:hostname")),
    done("2.91", "Unshelve takes a target `host` and can pin or unpin the availability zone",
          change("request-body", act("unshelve"), "host", "availability_zone=null")),
    done("2.92", "Keypairs are no longer generated (`public_key` required); names may contain `@` and `.`",
         change("request-body", KEYPAIRS[1], "keypair.public_key", "keypair.name"),
         change("view-field", KEYPAIRS[1], "private_key")),
    done("2.93", "Servers booted from volume can be rebuilt (the root volume is re-imaged from any image, the same "
         "volume id)", change("behaviour", REBUILD, "boot from volume")),
    done("2.94", "The `hostname` of create, update and rebuild may be a fully qualified domain name",
         change("request-body", (CREATE, UPDATE, REBUILD), "hostname")),
    done("2.95", "An evacuated server is left stopped at its destination (on one host an accepted evacuation "
         "never reaches one: the server goes to ERROR, No valid host)",
          change("behaviour", act("evacuate"), "SHUTOFF")),
    done("2.96", "Servers show `pinned_availability_zone`",
         change("view-field", SERVER_VIEWS, "pinned_availability_zone")),
    not_applicable("2.97", "404 at every version: nodecompute has no shared file system service (Manila) to attach",
                   "Manila shares are attached to servers through /servers/{server_id}/shares",
                   change("new-route", SHARES)),
    done("2.98", "Servers embed the image's `properties` under `image`",
         change("view-field", SERVER_VIEWS, "image.properties")),
    done("2.99", "SPICE consoles get the `spice-direct` type; console auth tokens show `tls_port` and "
          "refuse unknown query parameters",
          change("request-body", REMOTE, "remote_console.type=spice-direct"),
          change("view-field", ("GET", "/os-console-auth-tokens/{console_token}"), "tls_port"), also=("consoles",)),
    done("2.100", "Servers show the `scheduler_hints` given at create",
         change("view-field", SERVER_VIEWS, "scheduler_hints")),
    done("2.101", "Volume attach answers 202 with no body instead of 200 and the attachment",
         change("status", ATTACHMENTS[1], "202"), change("view-field", ATTACHMENTS[1], "volumeAttachment")),
    done("2.102", "Flavors filter by `name` and drop `rxtx_factor` and `OS-FLV-DISABLED:disabled`; unknown query "
         "parameters give 400 on every GET route (Nova leaves four open: server tags, one attachment, quota "
         "defaults)",
         change("query", FLAVOR_LISTS, "name", "sort_key=rxtx_factor"),
         change("view-field", FLAVOR_VIEWS, "rxtx_factor", "OS-FLV-DISABLED:disabled"),
         change("request-body", FLAVOR_VIEWS[2], "flavor.rxtx_factor"),
         change("query", EVERY_ROUTE, "additionalProperties")),
    done("2.103", "The /os-volumes_boot alias of /servers answers 404 (its create, #204, is served up to 2.102; "
         "Nova's other routes under it are not)",
         change("removed-route", (("GET", BOOT), ("POST", BOOT), ("GET", BOOT + "/detail"),
                                  ("GET", BOOT + "/{server_id}"), ("PUT", BOOT + "/{server_id}"),
                                  ("DELETE", BOOT + "/{server_id}"))), also=("volumes",)),
    done("2.104", "Update can unpin (null) or re-pin `pinned_availability_zone` (409 for another zone)",
         change("request-body", UPDATE, "pinned_availability_zone"), change("status", UPDATE, "409")),
)
