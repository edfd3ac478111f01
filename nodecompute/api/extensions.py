"""GET /extensions (#104) and /extensions/{alias} (#105).

EXTENSIONS holds every alias of behaviour.md section 4.1 with Nova's name and description (extension_info.py) and
the operations.md rows it stands for. Only the aliases in IMPLEMENTED are served; a feature that implements the
rows of an alias adds it to that set.
"""
from __future__ import annotations

from typing import NamedTuple

from aiohttp import web

from nodecompute.api.respond import respond
from nodecompute.domain.errors import NotFound

NAMESPACE = "http://docs.openstack.org/compute/ext/fake_xml"
UPDATED = "2014-12-03T00:00:00Z"


class Extension(NamedTuple):
    alias: str
    name: str
    description: str
    rows: str  # operations.md rows the alias needs


EXTENSIONS: tuple[Extension, ...] = (
    Extension("OS-DCF", "DiskConfig", "Disk Management Extension.", "203, 206, 303, 304, 702"),
    Extension("OS-EXT-AZ", "ExtendedAvailabilityZone", "Extended Availability Zone support.", "202"),
    Extension("OS-EXT-IMG-SIZE", "ImageSize", "Adds image size to image listings.", "702"),
    Extension("OS-EXT-IPS", "ExtendedIps", "Adds type parameter to the ip list.", "202, 501"),
    Extension("OS-EXT-IPS-MAC", "ExtendedIpsMac", "Adds mac address parameter to the ip list.", "202, 501"),
    Extension("OS-EXT-SRV-ATTR", "ExtendedServerAttributes", "Extended Server Attributes support.", "202"),
    Extension("OS-EXT-STS", "ExtendedStatus", "Extended Status support.", "202"),
    Extension("OS-FLV-DISABLED", "FlavorDisabled", "Support to show the disabled status of a flavor.", "602"),
    Extension("OS-FLV-EXT-DATA", "FlavorExtraData", "Provide additional data for flavors.", "602"),
    Extension("OS-SCH-HNT", "SchedulerHints", "Pass arbitrary key/value pairs to the scheduler.", "203"),
    Extension("OS-SRV-USG", "ServerUsage", "Adds launched_at and terminated_at on Servers.", "202"),
    Extension("os-access-ips", "AccessIPs", "Access IPs support.", "203"),
    Extension("os-admin-actions", "AdminActions", "Enable admin-only server actions\n\n    Actions include: "
              "resetNetwork, injectNetworkInfo, os-resetState\n    ", "2101, 2105, 2106"),
    Extension("os-admin-password", "AdminPassword", "Admin password management support.", "308"),
    Extension("os-attach-interfaces", "AttachInterfaces", "Attach interface support.", "1301-1304"),
    Extension("os-availability-zone", "AvailabilityZone", "1. Add availability_zone to the Create Server API.\n"
              "       2. Add availability zones describing.\n    ", "1001-1003"),
    Extension("os-block-device-mapping", "BlockDeviceMapping", "Block device mapping boot support.", "203"),
    Extension("os-block-device-mapping-v2-boot", "BlockDeviceMappingV2Boot",
              "Allow boot with the new BDM data format.", "203"),
    Extension("os-config-drive", "ConfigDrive", "Config Drive Extension.", "203"),
    Extension("os-console-output", "ConsoleOutput", "Console log output support, with tailing ability.", "1603"),
    Extension("os-consoles", "Consoles", "Interactive Console support.", "1601"),
    Extension("os-create-backup", "CreateBackup", "Create a backup of a server.", "324"),
    Extension("os-create-server-ext", "Createserverext", "Extended support to the Create Server v1.1 API.", "203"),
    Extension("os-deferred-delete", "DeferredDelete", "Instance deferred delete.", "325-326"),
    Extension("os-evacuate", "Evacuate", "Enables server evacuation.", "2104"),
    Extension("os-extended-evacuate-find-host", "ExtendedEvacuateFindHost",
              "Enables server evacuation without target host. Scheduler will select one to target.", "2104"),
    Extension("os-extended-floating-ips", "ExtendedFloatingIps",
              "Adds optional fixed_address to the add floating IP command.", "1401-1404, 1406-1407"),
    Extension("os-extended-hypervisors", "ExtendedHypervisors", "Extended hypervisors support.", "2107-2113"),
    Extension("os-extended-networks", "ExtendedNetworks", "Adds additional fields to networks.", "1306-1307"),
    Extension("os-extended-quotas", "ExtendedQuotas",
              "Adds ability for admins to delete quota and optionally force the update Quota command.", "107-111"),
    Extension("os-extended-rescue-with-image", "ExtendedRescueWithImage",
              "Allow the user to specify the image to use for rescue.", "319-320"),
    Extension("os-extended-services", "ExtendedServices", "Extended services support.", "2114-2118"),
    Extension("os-extended-services-delete", "ExtendedServicesDelete", "Extended services deletion support.",
              "2114-2118"),
    Extension("os-extended-status", "ExtendedStatus", "Extended Status support.", "202"),
    Extension("os-extended-volumes", "ExtendedVolumes", "Extended Volumes support.", "202"),
    Extension("os-flavor-access", "FlavorAccess", "Flavor access support.", "606-608"),
    Extension("os-flavor-extra-specs", "FlavorExtraSpecs", "Flavors extra specs support.", "609-613"),
    Extension("os-flavor-manage", "FlavorManage", "Flavor create/delete API support.", "604-605"),
    Extension("os-flavor-rxtx", "FlavorRxtx", "Support to show the rxtx status of a flavor.", "602"),
    Extension("os-flavor-swap", "FlavorSwap", "Support to show the swap status of a flavor.", "602"),
    Extension("os-floating-ip-pools", "FloatingIpPools", "Floating IPs support.", "1405"),
    Extension("os-floating-ips", "FloatingIps", "Floating IPs support.", "1401-1404, 1406-1407"),
    Extension("os-hide-server-addresses", "HideServerAddresses",
              "Support hiding server addresses in certain states.", "202"),
    Extension("os-hosts", "Hosts", "Admin-only host administration.", "2119-2122"),
    Extension("os-hypervisor-status", "HypervisorStatus", "Show hypervisor status.", "2107-2113"),
    Extension("os-hypervisors", "Hypervisors", "Admin-only hypervisor administration.", "2107-2113"),
    Extension("os-instance-actions", "InstanceActions", "View a log of actions and events taken on an instance.",
              "1701-1702"),
    Extension("os-instance_usage_audit_log", "OSInstanceUsageAuditLog", "Admin-only Task Log Monitoring.",
              "2003-2004"),
    Extension("os-keypairs", "Keypairs", "Keypair Support.", "901-904"),
    Extension("os-lock-server", "LockServer", "Enable lock/unlock server actions.", "317-318"),
    Extension("os-migrate-server", "MigrateServer", "Enable migrate and live-migrate server actions.", "2102-2103"),
    Extension("os-migrations", "Migrations", "Provide data on migrations.", "2123"),
    Extension("os-multiple-create", "MultipleCreate", "Allow multiple create in the Create Server v2.1 API.", "203"),
    Extension("os-networks", "Networks", "Admin-only Network Management Extension.", "1306-1307"),
    Extension("os-pause-server", "PauseServer", "Enable pause/unpause server actions.", "313-314"),
    Extension("os-personality", "Personality", "Personality support.", "203"),
    Extension("os-preserve-ephemeral-rebuild", "PreserveEphemeralOnRebuild",
              "Allow preservation of the ephemeral partition on rebuild.", "303"),
    Extension("os-quota-class-sets", "QuotaClasses", "Quota classes management support.", "112-113"),
    Extension("os-quota-sets", "Quotas", "Quotas management support.", "107-111"),
    Extension("os-rescue", "Rescue", "Instance rescue mode.", "319-320"),
    Extension("os-security-group-default-rules", "SecurityGroupDefaultRules",
              "Default rules for security group support.", "1511-1514"),
    Extension("os-security-groups", "SecurityGroups", "Security group support.", "1501-1510"),
    Extension("os-server-diagnostics", "ServerDiagnostics",
              "Allow Admins to view server diagnostics through server action.", "1901"),
    Extension("os-server-group-quotas", "ServerGroupQuotas", "Adds quota support to server groups.",
              "1801-1804, 106"),
    Extension("os-server-groups", "ServerGroups", "Server group support.", "1801-1804, 106"),
    Extension("os-server-list-multi-status", "ServerListMultiStatus",
              "Allow to filter the servers by a set of status values.", "201"),
    Extension("os-server-password", "ServerPassword", "Server password support.", "1604-1605"),
    Extension("os-server-sort-keys", "ServerSortKeys", "Add sorting support in get Server v2 API.", "201"),
    Extension("os-server-start-stop", "ServerStartStop", "Start/Stop instance compute API support.", "309-310"),
    Extension("os-services", "Services", "Services support.", "2114-2118"),
    Extension("os-shelve", "Shelve", "Instance shelve mode.", "321-323"),
    Extension("os-simple-tenant-usage", "SimpleTenantUsage", "Simple tenant usage extension.", "2001-2002"),
    Extension("os-suspend-server", "SuspendServer", "Enable suspend/resume server actions.", "315-316"),
    Extension("os-tenant-networks", "OSTenantNetworks", "Tenant-based Network Management Extension.", "1308-1309"),
    Extension("os-used-limits", "UsedLimits", "Provide data on limited resources that are being used.", "106"),
    Extension("os-used-limits-for-admin", "UsedLimitsForAdmin",
              "Provide data to admin on limited resources used by other tenants.", "106"),
    Extension("os-user-data", "UserData", "Add user_data to the Create Server API.", "203"),
    Extension("os-user-quotas", "UserQuotas", "Project user quota support.", "107-111"),
    Extension("os-virtual-interfaces", "VirtualInterfaces", "Virtual interface support.", "1305"),
    Extension("os-volume-attachment-update", "VolumeAttachmentUpdate", "Support for updating a volume attachment.",
              "1104"),
    Extension("os-volumes", "Volumes", "Volumes support.", "1101-1103, 1105, 1201-1210"),
)
BY_ALIAS: dict[str, Extension] = {ext.alias: ext for ext in EXTENSIONS}

# Aliases whose rows are implemented. os-user-quotas waits for per-user quota overrides (PUT ?user_id=).
IMPLEMENTED: set[str] = {
    "os-flavor-rxtx", "os-flavor-swap", "OS-FLV-DISABLED", "OS-FLV-EXT-DATA", "os-flavor-access",
    "os-flavor-extra-specs", "os-flavor-manage",
    "os-keypairs", "os-availability-zone",
    "os-quota-sets", "os-extended-quotas", "os-quota-class-sets", "os-used-limits", "os-used-limits-for-admin",
    "OS-EXT-IMG-SIZE",
    "OS-EXT-AZ", "OS-EXT-SRV-ATTR", "OS-EXT-STS", "os-extended-status", "OS-SRV-USG", "OS-SCH-HNT",
    "os-access-ips", "os-config-drive", "os-console-output", "os-create-server-ext", "os-multiple-create",
    "os-personality", "os-user-data", "os-server-start-stop", "os-server-list-multi-status", "os-server-sort-keys",
}


def _view(ext: Extension) -> dict:
    return {"name": ext.name, "alias": ext.alias, "description": ext.description, "namespace": NAMESPACE,
            "updated": UPDATED, "links": []}


async def list_extensions(request: web.Request) -> web.StreamResponse:
    return respond(request, [BY_ALIAS[alias] for alias in sorted(IMPLEMENTED) if alias in BY_ALIAS])


async def show_extension(request: web.Request) -> web.StreamResponse:
    alias = request.match_info["alias"]
    if alias not in IMPLEMENTED or alias not in BY_ALIAS:
        raise NotFound()
    return respond(request, BY_ALIAS[alias])


VIEWS = {
    "#104": lambda out, found: {"extensions": [_view(ext) for ext in found]},
    "#105": lambda out, ext: {"extension": _view(ext)},
}
