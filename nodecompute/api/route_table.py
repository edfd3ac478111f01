"""The one ordered route table: every route of every face (Nova's ROUTE_LIST is the model).

Each row names its face, a stable operation id (`#<row>` of the operations checklist where it has a row, else
`<face>:<name>`), the method, the path, the handler, whether it needs a token, and whether the path is relative to
the face's version roots (`versioned`: compute rows are served under /v2.1 and /v2, each with and without a
`{project_id}` segment) or to the face's prefix. The token check and the public paths derive from `token`; the
dialects' views, statuses and schemas are keyed by `op`; `actions` is an action dispatcher's table (each key an
operation of its own); `since` and `until` are the first and last microversions that route the row (Nova's range
for the operation: tests/unit/test_route_table.py checks them against nova_catalog). Literal paths come before
parametrised ones (`/servers/detail` before `/servers/{server_id}`).
"""
from __future__ import annotations

from nodecompute.api import (admin_actions, aggregates, consoles, extensions, flavors, floating_ips, glance,
                             glance_members, hosts,
                             hypervisors, identity, images, instance_actions, keypairs, limits, migrations,
                             network_proxies, neutron, neutron_floatingips, neutron_networks, neutron_ports,
                             neutron_quotas, neutron_routers, neutron_secgroups, nova_secgroups, nova_sg_default_rules,
                             openapi, os_volumes, server_actions, server_diagnostics, server_groups, server_interfaces,
                             server_ips, server_metadata, server_password, server_security_groups, server_tags, servers,
                             services, usage, usage_audit, versions, volume_actions, volume_attachments, volume_limits,
                             volume_snapshots, volume_types, volume_versions, volumes, zones)
from nodecompute.api.routing import Handler, Route


def _compute(op: str, method: str, path: str, handler: Handler, **kw) -> Route:
    return Route("compute", op, method, path, handler, **kw)


def _identity(op: str, method: str, path: str, handler: Handler, token: bool = False) -> Route:
    return Route("identity", op, method, path, handler, token=token)


def _image(op: str, method: str, path: str, handler: Handler, token: bool = True) -> Route:
    return Route("image", op, method, path, handler, token=token)


def _network(op: str, method: str, path: str, handler: Handler, token: bool = True) -> Route:
    return Route("network", op, method, path, handler, token=token)


def _volume(op: str, method: str, path: str, handler: Handler, **kw) -> Route:
    return Route("volume", op, method, path, handler, **kw)


_public = {"token": False, "versioned": False}
SERVER = "/servers/{server_id}"
FLAVOR = "/flavors/{flavor_id}"
IMAGE = "/v2/images/{image_id}"
NETWORK = "/v2.0/networks/{network_id}"
SUBNET = "/v2.0/subnets/{subnet_id}"
PORT = "/v2.0/ports/{port_id}"
QUOTA = "/v2.0/quotas/{project_id}"
SECURITY_GROUP = "/v2.0/security-groups/{security_group_id}"
SECURITY_GROUP_RULE = "/v2.0/security-group-rules/{rule_id}"
NOVA_GROUP = "/os-security-groups/{security_group_id}"
DEFAULT_RULE = "/os-security-group-default-rules/{security_group_default_rule_id}"
ROUTER = "/v2.0/routers/{router_id}"
FLOATINGIP = "/v2.0/floatingips/{floatingip_id}"
TOPOLOGY = "/v2.0/auto-allocated-topology/{project_id}"
PROXY = {"until": (2, 35)}  # Nova's image proxy ends at 2.36 (the network and volume proxies too)
IMAGE_META = {"until": (2, 38)}  # its image metadata proxy at 2.39
VOLUME, SNAPSHOT, VOLUME_TYPE = "/volumes/{volume_id}", "/snapshots/{snapshot_id}", "/types/{type_id}"
QUOTA_SET = "/os-quota-sets/{tenant_id}"
TAGS = (2, 26)  # server tags
HYPERVISOR = "/os-hypervisors/{hypervisor_id}"
BEFORE_253 = {"until": (2, 52)}  # routes that 2.53 turned into query parameters or PUT /os-services/{id}
BEFORE_243 = {"until": (2, 42)}  # os-hosts
HOST = "/os-hosts/{host_name}"

ROUTES: tuple[Route, ...] = (
    Route("root", "#101", "GET", "/", versions.root_versions, token=False, versioned=False),
    # the OpenAPI description of every served route, outside every face (Nova has no such route)
    Route("root", "root:openapi", "GET", "/openapi.json", openapi.show, token=False, versioned=False),
    # compute version documents (the documents with a trailing slash need a token, as in Nova)
    _compute("#101", "GET", "", versions.show, **_public),
    _compute("#101", "GET", "/", versions.show, **_public),
    _compute("#102", "GET", "/v2", versions.show, **_public),
    _compute("#102", "GET", "/v2/", versions.show, versioned=False),
    _compute("#103", "GET", "/v2.1", versions.show, **_public),
    _compute("#103", "GET", "/v2.1/", versions.show, versioned=False),
    _compute("compute:choices", "GET", r"/{tail:(?!v2(?:\.1)?(?:/|$)).+}", versions.choices, **_public),
    # compute, relative to each version root
    _compute("#104", "GET", "/extensions", extensions.list_extensions),
    _compute("#105", "GET", "/extensions/{alias}", extensions.show_extension),
    _compute("#106", "GET", "/limits", limits.show_limits),
    _compute("#108", "GET", "/os-quota-sets/{tenant_id}/defaults", limits.show_quota_defaults),
    _compute("#109", "GET", "/os-quota-sets/{tenant_id}/detail", limits.show_quota_detail),
    _compute("#107", "GET", "/os-quota-sets/{tenant_id}", limits.show_quota_set),
    _compute("#110", "PUT", "/os-quota-sets/{tenant_id}", limits.update_quota_set),
    _compute("#111", "DELETE", "/os-quota-sets/{tenant_id}", limits.delete_quota_set),
    _compute("#112", "GET", "/os-quota-class-sets/{class_name}", limits.show_quota_class),
    _compute("#113", "PUT", "/os-quota-class-sets/{class_name}", limits.update_quota_class),
    _compute("#601", "GET", "/flavors", flavors.list_flavors),
    _compute("#602", "GET", "/flavors/detail", flavors.list_flavors),
    _compute("#604", "POST", "/flavors", flavors.create_flavor),
    _compute("#603", "GET", FLAVOR, flavors.show_flavor),
    _compute("#614", "PUT", FLAVOR, flavors.update_flavor, since=(2, 55)),
    _compute("#605", "DELETE", FLAVOR, flavors.delete_flavor),
    _compute("#606", "GET", FLAVOR + "/os-flavor-access", flavors.list_flavor_access),
    _compute("compute:flavor-action", "POST", FLAVOR + "/action", flavors.flavor_action, actions=flavors.ACTIONS),
    _compute("#609", "GET", FLAVOR + "/os-extra_specs", flavors.list_extra_specs),
    _compute("#610", "POST", FLAVOR + "/os-extra_specs", flavors.create_extra_specs),
    _compute("#611", "GET", FLAVOR + "/os-extra_specs/{key}", flavors.show_extra_spec),
    _compute("#612", "PUT", FLAVOR + "/os-extra_specs/{key}", flavors.update_extra_spec),
    _compute("#613", "DELETE", FLAVOR + "/os-extra_specs/{key}", flavors.delete_extra_spec),
    _compute("#901", "GET", "/os-keypairs", keypairs.list_keypairs),
    _compute("#902", "POST", "/os-keypairs", keypairs.create_keypair),
    _compute("#903", "GET", "/os-keypairs/{keypair_name}", keypairs.show_keypair),
    _compute("#904", "DELETE", "/os-keypairs/{keypair_name}", keypairs.delete_keypair),
    _compute("#1001", "GET", "/os-availability-zone", zones.list_zones),
    _compute("#1002", "GET", "/os-availability-zone/detail", zones.list_zones_detail),
    _compute("#1003", "GET", "/os-availability-zone/{zone_name}", zones.show_zone),
    _compute("#701", "GET", "/images", images.list_images, **PROXY),
    _compute("#702", "GET", "/images/detail", images.list_images, **PROXY),
    _compute("#703", "GET", "/images/{image_id}", images.show_image, **PROXY),
    _compute("#704", "DELETE", "/images/{image_id}", images.delete_image, **PROXY),
    _compute("#705", "GET", "/images/{image_id}/metadata", images.list_metadata, **IMAGE_META),
    _compute("#706", "POST", "/images/{image_id}/metadata", images.merge_metadata, **IMAGE_META),
    _compute("#707", "PUT", "/images/{image_id}/metadata", images.replace_metadata, **IMAGE_META),
    _compute("#708", "GET", "/images/{image_id}/metadata/{key}", images.show_metadata_item, **IMAGE_META),
    _compute("#709", "PUT", "/images/{image_id}/metadata/{key}", images.set_metadata_item, **IMAGE_META),
    _compute("#710", "DELETE", "/images/{image_id}/metadata/{key}", images.delete_metadata_item, **IMAGE_META),
    _compute("#1306", "GET", "/os-networks", network_proxies.list_networks, **PROXY),
    _compute("#1307", "GET", "/os-networks/{network_id}", network_proxies.show_network, **PROXY),
    _compute("#1308", "GET", "/os-tenant-networks", network_proxies.list_networks, **PROXY),
    _compute("#1309", "GET", "/os-tenant-networks/{network_id}", network_proxies.show_network, **PROXY),
    _compute("#1401", "GET", "/os-floating-ips", floating_ips.list_floating_ips, **PROXY),
    _compute("#1402", "POST", "/os-floating-ips", floating_ips.create_floating_ip, **PROXY),
    _compute("#1403", "GET", "/os-floating-ips/{floating_ip_id}", floating_ips.show_floating_ip, **PROXY),
    _compute("#1404", "DELETE", "/os-floating-ips/{floating_ip_id}", floating_ips.delete_floating_ip, **PROXY),
    _compute("#1405", "GET", "/os-floating-ip-pools", floating_ips.list_pools, **PROXY),
    _compute("#1501", "GET", "/os-security-groups", nova_secgroups.list_groups, **PROXY),
    _compute("#1502", "POST", "/os-security-groups", nova_secgroups.create_group, **PROXY),
    _compute("#1503", "GET", NOVA_GROUP, nova_secgroups.show_group, **PROXY),
    _compute("#1504", "PUT", NOVA_GROUP, nova_secgroups.update_group, **PROXY),
    _compute("#1505", "DELETE", NOVA_GROUP, nova_secgroups.delete_group, **PROXY),
    _compute("#1506", "POST", "/os-security-group-rules", nova_secgroups.create_rule, **PROXY),
    _compute("#1507", "DELETE", "/os-security-group-rules/{security_group_rule_id}", nova_secgroups.delete_rule,
             **PROXY),
    # nova-network's default rules, in their Kilo shape (Nova answers 410 since it dropped nova-network)
    _compute("#1511", "GET", "/os-security-group-default-rules", nova_sg_default_rules.list_default_rules, **PROXY),
    _compute("#1512", "POST", "/os-security-group-default-rules", nova_sg_default_rules.create_default_rule,
             **PROXY),
    _compute("#1513", "GET", DEFAULT_RULE, nova_sg_default_rules.show_default_rule, **PROXY),
    _compute("#1514", "DELETE", DEFAULT_RULE, nova_sg_default_rules.delete_default_rule, **PROXY),
    _compute("#201", "GET", "/servers", servers.list_servers),
    _compute("#202", "GET", "/servers/detail", servers.list_servers_detail),
    _compute("#203", "POST", "/servers", servers.create_server),
    _compute("#204", "POST", "/os-volumes_boot", servers.create_server, until=(2, 102)),  # Nova's alias of #203
    _compute("#205", "GET", SERVER, servers.show_server),
    _compute("#206", "PUT", SERVER, servers.update_server),
    _compute("#207", "DELETE", SERVER, servers.delete_server),
    _compute("#301", "POST", SERVER + "/action", server_actions.server_action, actions=server_actions.ACTIONS),
    _compute("#1607", "POST", SERVER + "/remote-consoles", consoles.create_remote_console, since=(2, 6)),
    _compute("#214", "GET", SERVER + "/topology", instance_actions.show_topology, since=(2, 78)),
    _compute("#1701", "GET", SERVER + "/os-instance-actions", instance_actions.list_actions),
    _compute("#1702", "GET", SERVER + "/os-instance-actions/{request_id}", instance_actions.show_action),
    _compute("#401", "GET", SERVER + "/metadata", server_metadata.list_metadata),
    _compute("#402", "PUT", SERVER + "/metadata", server_metadata.replace_metadata),
    _compute("#403", "POST", SERVER + "/metadata", server_metadata.merge_metadata),
    _compute("#404", "GET", SERVER + "/metadata/{key}", server_metadata.show_metadata_item),
    _compute("#405", "PUT", SERVER + "/metadata/{key}", server_metadata.set_metadata_item),
    _compute("#406", "DELETE", SERVER + "/metadata/{key}", server_metadata.delete_metadata_item),
    _compute("#208", "GET", SERVER + "/tags", server_tags.list_tags, since=TAGS),
    _compute("#209", "PUT", SERVER + "/tags", server_tags.replace_tags, since=TAGS),
    _compute("#210", "DELETE", SERVER + "/tags", server_tags.delete_tags, since=TAGS),
    _compute("#211", "GET", SERVER + "/tags/{tag}", server_tags.check_tag, since=TAGS),
    _compute("#212", "PUT", SERVER + "/tags/{tag}", server_tags.add_tag, since=TAGS),
    _compute("#213", "DELETE", SERVER + "/tags/{tag}", server_tags.delete_tag, since=TAGS),
    _compute("#501", "GET", SERVER + "/ips", server_ips.list_ips),
    _compute("#502", "GET", SERVER + "/ips/{network_label}", server_ips.show_ips),
    # a server's volumes (attachments hot-plugged into its guest)
    _compute("#1101", "GET", SERVER + "/os-volume_attachments", volume_attachments.list_attachments),
    _compute("#1102", "POST", SERVER + "/os-volume_attachments", volume_attachments.attach),
    _compute("#1103", "GET", SERVER + "/os-volume_attachments/{volume_id}", volume_attachments.show_attachment),
    _compute("#1104", "PUT", SERVER + "/os-volume_attachments/{volume_id}", volume_attachments.update),
    _compute("#1105", "DELETE", SERVER + "/os-volume_attachments/{volume_id}", volume_attachments.detach),
    # Nova's block storage proxies, on the block storage service of the /volume face
    _compute("#1201", "GET", "/os-volumes", os_volumes.list_volumes, **PROXY),
    _compute("#1202", "GET", "/os-volumes/detail", os_volumes.list_volumes, **PROXY),
    _compute("#1203", "POST", "/os-volumes", os_volumes.create_volume, **PROXY),
    _compute("#1204", "GET", "/os-volumes/{volume_id}", os_volumes.show_volume, **PROXY),
    _compute("#1205", "DELETE", "/os-volumes/{volume_id}", os_volumes.delete_volume, **PROXY),
    _compute("#1206", "GET", "/os-snapshots", os_volumes.list_snapshots, **PROXY),
    _compute("#1207", "GET", "/os-snapshots/detail", os_volumes.list_snapshots, **PROXY),
    _compute("#1208", "POST", "/os-snapshots", os_volumes.create_snapshot, **PROXY),
    _compute("#1209", "GET", "/os-snapshots/{snapshot_id}", os_volumes.show_snapshot, **PROXY),
    _compute("#1210", "DELETE", "/os-snapshots/{snapshot_id}", os_volumes.delete_snapshot, **PROXY),
    _compute("#1901", "GET", SERVER + "/diagnostics", server_diagnostics.show_diagnostics),
    _compute("#1604", "GET", SERVER + "/os-server-password", server_password.show_password),
    _compute("#1605", "DELETE", SERVER + "/os-server-password", server_password.clear_password),
    _compute("compute:server-migrations", "GET", SERVER + "/migrations", migrations.list_server_migrations, since=(2, 23)),
    _compute("compute:server-migration", "GET", SERVER + "/migrations/{migration_id}",
             migrations.show_server_migration, since=(2, 23)),
    _compute("compute:abort-migration", "DELETE", SERVER + "/migrations/{migration_id}", migrations.abort_migration,
             since=(2, 24)),
    _compute("compute:server-migration-action", "POST", SERVER + "/migrations/{migration_id}/action",
             migrations.server_migration_action, actions=migrations.ACTIONS, since=(2, 22)),
    _compute("#2107", "GET", "/os-hypervisors", hypervisors.list_hypervisors),
    _compute("#2108", "GET", "/os-hypervisors/detail", hypervisors.list_hypervisors_detail),
    _compute("#2110", "GET", "/os-hypervisors/statistics", hypervisors.show_statistics, until=(2, 87)),
    _compute("#2109", "GET", HYPERVISOR, hypervisors.show_hypervisor),
    _compute("#2111", "GET", HYPERVISOR + "/uptime", hypervisors.show_uptime, until=(2, 87)),
    _compute("#2112", "GET", "/os-hypervisors/{pattern}/search", hypervisors.search_hypervisors, **BEFORE_253),
    _compute("#2113", "GET", "/os-hypervisors/{pattern}/servers", hypervisors.list_hypervisor_servers,
             **BEFORE_253),
    _compute("#1801", "GET", "/os-server-groups", server_groups.list_groups),
    _compute("#1802", "POST", "/os-server-groups", server_groups.create_group),
    _compute("#1803", "GET", "/os-server-groups/{group_id}", server_groups.show_group),
    _compute("#1804", "DELETE", "/os-server-groups/{group_id}", server_groups.delete_group),
    _compute("#2001", "GET", "/os-simple-tenant-usage", usage.list_usage),
    _compute("#2002", "GET", "/os-simple-tenant-usage/{tenant_id}", usage.show_usage),
    _compute("#2003", "GET", "/os-instance_usage_audit_log", usage_audit.list_audit),
    _compute("#2004", "GET", "/os-instance_usage_audit_log/{before_timestamp}", usage_audit.show_audit),
    _compute("#2123", "GET", "/os-migrations", migrations.list_migrations),
    _compute("#2119", "GET", "/os-hosts", hosts.list_hosts, **BEFORE_243),
    _compute("#2120", "GET", HOST, hosts.show_host, **BEFORE_243),
    _compute("#2121", "PUT", HOST, hosts.update_host, **BEFORE_243),
    _compute("#2122", "GET", HOST + "/reboot", hosts.reboot_host, **BEFORE_243),
    _compute("#2122", "GET", HOST + "/shutdown", hosts.shutdown_host, **BEFORE_243),
    _compute("#2122", "GET", HOST + "/startup", hosts.startup_host, **BEFORE_243),
    _compute("compute:aggregates", "GET", "/os-aggregates", aggregates.list_aggregates),
    _compute("#2114", "GET", "/os-services", services.list_services),
    _compute("#2115", "PUT", "/os-services/enable", services.enable_service, **BEFORE_253),
    _compute("#2116", "PUT", "/os-services/disable", services.disable_service, **BEFORE_253),
    _compute("#2117", "PUT", "/os-services/disable-log-reason", services.disable_log_reason, **BEFORE_253),
    _compute("#2124", "PUT", "/os-services/force-down", services.force_down, since=(2, 11), until=(2, 52)),
    _compute("#2125", "PUT", "/os-services/{service_id}", services.update_service, since=(2, 53)),
    _compute("#2118", "DELETE", "/os-services/{service_id}", services.delete_service),
    _compute("#1301", "GET", SERVER + "/os-interface", server_interfaces.list_interfaces),
    _compute("#1302", "POST", SERVER + "/os-interface", server_interfaces.attach_interface),
    _compute("#1303", "GET", SERVER + "/os-interface/{port_id}", server_interfaces.show_interface),
    _compute("#1304", "DELETE", SERVER + "/os-interface/{port_id}", server_interfaces.detach_interface),
    _compute("#1508", "GET", SERVER + "/os-security-groups", server_security_groups.list_server_groups),
    # identity, relative to /identity
    _identity("#2201", "GET", "", identity.show),
    _identity("#2201", "GET", "/", identity.show),
    _identity("#2202", "GET", "/v3", identity.show),
    _identity("#2202", "GET", "/v3/", identity.show),
    _identity("identity:v2.0", "GET", "/v2.0", identity.show),
    _identity("identity:v2.0", "GET", "/v2.0/", identity.show),
    _identity("#2203", "POST", "/v3/auth/tokens", identity.issue_v3),
    _identity("#2204", "GET", "/v3/auth/tokens", identity.validate_v3, token=True),
    _identity("#2205", "DELETE", "/v3/auth/tokens", identity.revoke_v3, token=True),
    _identity("#2206", "POST", "/v2.0/tokens", identity.issue_v2),
    _identity("identity:projects", "GET", "/v3/projects", identity.list_projects, token=True),
    _identity("identity:project", "GET", "/v3/projects/{project_id}", identity.show_project, token=True),
    # image (the Glance v2 subset), relative to /image
    _image("#801", "GET", "", glance.show_versions, token=False),
    _image("#801", "GET", "/", glance.show_versions, token=False),
    _image("image:versions", "GET", "/versions", glance.show_versions, token=False),
    _image("#802", "GET", "/v2/images", glance.list_images),
    _image("#803", "POST", "/v2/images", glance.create_image),
    _image("#804", "GET", IMAGE, glance.show_image),
    _image("#805", "PATCH", IMAGE, glance.update_image),
    _image("#806", "DELETE", IMAGE, glance.delete_image),
    _image("#807", "PUT", IMAGE + "/file", glance.upload_image_data),
    _image("#808", "GET", IMAGE + "/file", glance.download_image_data),
    _image("image:tasks", "GET", IMAGE + "/tasks", glance.list_image_tasks),
    _image("#809", "POST", IMAGE + "/members", glance_members.add_member),
    _image("#810", "GET", IMAGE + "/members", glance_members.list_members),
    _image("#811", "GET", IMAGE + "/members/{member_id}", glance_members.show_member),
    _image("#812", "PUT", IMAGE + "/members/{member_id}", glance_members.update_member),
    _image("#813", "DELETE", IMAGE + "/members/{member_id}", glance_members.delete_member),
    _image("#814", "GET", "/v2/schemas/member", glance_members.show_schema),
    _image("#814", "GET", "/v2/schemas/members", glance_members.show_schema),
    # network (the Neutron v2.0 subset), relative to /networking
    _network("#2801", "GET", "", neutron.show_versions, token=False),
    _network("#2801", "GET", "/", neutron.show_versions, token=False),
    _network("network:v2.0", "GET", "/v2.0/", neutron.show_versions),
    _network("#2802", "GET", "/v2.0/extensions", neutron.list_extensions),
    _network("network:extension", "GET", "/v2.0/extensions/{alias}", neutron.show_extension),
    _network("#2803", "GET", "/v2.0/networks", neutron_networks.list_networks),
    _network("#2803", "POST", "/v2.0/networks", neutron_networks.create_network),
    _network("#2804", "GET", NETWORK, neutron_networks.show_network),
    _network("#2804", "PUT", NETWORK, neutron_networks.update_network),
    _network("#2804", "DELETE", NETWORK, neutron_networks.delete_network),
    _network("#2805", "GET", "/v2.0/subnets", neutron_networks.list_subnets),
    _network("#2805", "POST", "/v2.0/subnets", neutron_networks.create_subnet),
    _network("#2806", "GET", SUBNET, neutron_networks.show_subnet),
    _network("#2806", "PUT", SUBNET, neutron_networks.update_subnet),
    _network("#2806", "DELETE", SUBNET, neutron_networks.delete_subnet),
    _network("#2807", "GET", "/v2.0/ports", neutron_ports.list_ports),
    _network("#2807", "POST", "/v2.0/ports", neutron_ports.create_port),
    _network("#2808", "GET", PORT, neutron_ports.show_port),
    _network("#2808", "PUT", PORT, neutron_ports.update_port),
    _network("#2808", "DELETE", PORT, neutron_ports.delete_port),
    _network("#2809", "GET", "/v2.0/security-groups", neutron_secgroups.list_security_groups),
    _network("#2809", "POST", "/v2.0/security-groups", neutron_secgroups.create_security_group),
    _network("#2810", "GET", SECURITY_GROUP, neutron_secgroups.show_security_group),
    _network("#2810", "PUT", SECURITY_GROUP, neutron_secgroups.update_security_group),
    _network("#2810", "DELETE", SECURITY_GROUP, neutron_secgroups.delete_security_group),
    _network("#2811", "GET", "/v2.0/security-group-rules", neutron_secgroups.list_rules),
    _network("#2811", "POST", "/v2.0/security-group-rules", neutron_secgroups.create_rule),
    _network("#2812", "GET", SECURITY_GROUP_RULE, neutron_secgroups.show_rule),
    _network("#2812", "DELETE", SECURITY_GROUP_RULE, neutron_secgroups.delete_rule),
    _network("#2813", "GET", "/v2.0/routers", neutron_routers.list_routers),
    _network("#2813", "POST", "/v2.0/routers", neutron_routers.create_router),
    _network("#2814", "GET", ROUTER, neutron_routers.show_router),
    _network("#2814", "PUT", ROUTER, neutron_routers.update_router),
    _network("#2814", "DELETE", ROUTER, neutron_routers.delete_router),
    _network("#2815", "PUT", ROUTER + "/add_router_interface", neutron_routers.add_router_interface),
    _network("#2815", "PUT", ROUTER + "/remove_router_interface", neutron_routers.remove_router_interface),
    _network("#2816", "GET", "/v2.0/floatingips", neutron_floatingips.list_floatingips),
    _network("#2816", "POST", "/v2.0/floatingips", neutron_floatingips.create_floatingip),
    _network("#2817", "GET", FLOATINGIP, neutron_floatingips.show_floatingip),
    _network("#2817", "PUT", FLOATINGIP, neutron_floatingips.update_floatingip),
    _network("#2817", "DELETE", FLOATINGIP, neutron_floatingips.delete_floatingip),
    _network("network:auto-allocated-topology", "GET", TOPOLOGY, neutron_routers.show_auto_topology),
    _network("network:auto-allocated-topology", "DELETE", TOPOLOGY, neutron_routers.delete_auto_topology),
    _network("network:quotas", "GET", "/v2.0/quotas", neutron_quotas.list_quotas),
    _network("network:quota-details", "GET", QUOTA + "/details", neutron_quotas.show_quota_details),
    _network("network:quota-default", "GET", QUOTA + "/default", neutron_quotas.show_quota_default),
    _network("#2818", "GET", QUOTA, neutron_quotas.show_quota),
    _network("#2818", "PUT", QUOTA, neutron_quotas.update_quota),
    _network("#2818", "DELETE", QUOTA, neutron_quotas.delete_quota),
    # block storage (Cinder v3 at 3.0 under /volume/v3, the same core under /volume/v2), relative to /volume
    _volume("#1231", "GET", "", volume_versions.show, **_public),
    _volume("#1231", "GET", "/", volume_versions.show, **_public),
    _volume("volume:v3", "GET", "/v3", volume_versions.show, **_public),
    _volume("volume:v3", "GET", "/v3/", volume_versions.show, **_public),
    # ... and relative to each version root
    _volume("#1214", "GET", "/types", volume_types.list_types),
    _volume("volume:type-create", "POST", "/types", volume_types.create_type),
    _volume("#1215", "GET", VOLUME_TYPE, volume_types.show_type),
    _volume("volume:type-update", "PUT", VOLUME_TYPE, volume_types.update_type),
    _volume("volume:type-delete", "DELETE", VOLUME_TYPE, volume_types.delete_type),
    _volume("volume:extra-specs", "GET", VOLUME_TYPE + "/extra_specs", volume_types.list_extra_specs),
    _volume("volume:extra-specs-set", "POST", VOLUME_TYPE + "/extra_specs", volume_types.set_extra_specs),
    _volume("volume:extra-spec", "GET", VOLUME_TYPE + "/extra_specs/{key}", volume_types.show_extra_spec),
    _volume("volume:extra-spec-set", "PUT", VOLUME_TYPE + "/extra_specs/{key}", volume_types.update_extra_spec),
    _volume("volume:extra-spec-delete", "DELETE", VOLUME_TYPE + "/extra_specs/{key}",
            volume_types.delete_extra_spec),
    _volume("#1216", "GET", "/volumes", volumes.list_volumes),
    _volume("#1217", "GET", "/volumes/detail", volumes.list_volumes),
    _volume("#1218", "POST", "/volumes", volumes.create_volume),
    _volume("#1219", "GET", VOLUME, volumes.show_volume),
    _volume("#1220", "PUT", VOLUME, volumes.update_volume),
    _volume("#1221", "DELETE", VOLUME, volumes.delete_volume),
    _volume("volume:action", "POST", VOLUME + "/action", volume_actions.volume_action, actions=volume_actions.ACTIONS),
    _volume("volume:metadata", "GET", VOLUME + "/metadata", volumes.list_metadata),
    _volume("volume:metadata-merge", "POST", VOLUME + "/metadata", volumes.merge_metadata),
    _volume("volume:metadata-replace", "PUT", VOLUME + "/metadata", volumes.replace_metadata),
    _volume("volume:metadata-item", "GET", VOLUME + "/metadata/{key}", volumes.show_metadata_item),
    _volume("volume:metadata-item-set", "PUT", VOLUME + "/metadata/{key}", volumes.set_metadata_item),
    _volume("volume:metadata-item-delete", "DELETE", VOLUME + "/metadata/{key}", volumes.delete_metadata_item),
    _volume("#1224", "GET", "/snapshots", volume_snapshots.list_snapshots),
    _volume("#1225", "GET", "/snapshots/detail", volume_snapshots.list_snapshots),
    _volume("#1227", "POST", "/snapshots", volume_snapshots.create_snapshot),
    _volume("#1226", "GET", SNAPSHOT, volume_snapshots.show_snapshot),
    _volume("#1228", "PUT", SNAPSHOT, volume_snapshots.update_snapshot),
    _volume("#1229", "DELETE", SNAPSHOT, volume_snapshots.delete_snapshot),
    _volume("volume:snapshot-action", "POST", SNAPSHOT + "/action", volume_snapshots.snapshot_action),
    _volume("#1233", "GET", "/limits", volume_limits.show_limits),
    _volume("volume:quota-defaults", "GET", QUOTA_SET + "/defaults", volume_limits.show_quota_defaults),
    _volume("#1234", "GET", QUOTA_SET, volume_limits.show_quota_set),
    _volume("volume:quota-update", "PUT", QUOTA_SET, volume_limits.update_quota_set),
    _volume("volume:quota-delete", "DELETE", QUOTA_SET, volume_limits.delete_quota_set),
)


def face_routes(face: str) -> tuple[Route, ...]:
    return tuple(route for route in ROUTES if route.face == face)
