"""Schema migrations 0010-0034 (numbered, applied in order, never edited once shipped): a change to the schema is a
new function at the end of migrations_latest.py."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlite_utils import Database

from nodecompute.db.migration_set import migrations


@migrations(name="0010_console_tokens")
def m0010_console_tokens(db: Database) -> None:
    """Console URL tokens (domain/console_tokens.py): only the SHA-256 digest, bound to one server and one console
    kind, with the expiry in seconds since the epoch. A server's rows go when it is stopped or deleted."""
    db.executescript(
        """
        CREATE TABLE console_tokens (
            digest TEXT PRIMARY KEY, server_id TEXT NOT NULL, kind TEXT NOT NULL, expires_at REAL NOT NULL);
        CREATE INDEX console_tokens_server ON console_tokens(server_id);
        CREATE INDEX console_tokens_expires ON console_tokens(expires_at);
        """
    )


@migrations(name="0011_servernet_interfaces")
def m0011_servernet_interfaces(db: Database) -> None:
    """The ports each server is plugged into (compute/server_ports.py): the device tag, whether the server made the
    port (then it goes with the server; a port handed in is only unbound), and the order the NICs were plugged."""
    db.executescript(
        """
        CREATE TABLE server_interfaces (
            port_id TEXT PRIMARY KEY, server_uuid TEXT NOT NULL, tag TEXT, made_by_server INTEGER NOT NULL,
            position INTEGER NOT NULL);
        CREATE INDEX server_interfaces_server ON server_interfaces(server_uuid);
        """
    )


@migrations(name="0012_server_actions_locks_and_records")
def m0012_server_actions_locks_and_records(db: Database) -> None:
    """Who locked a server and why (Nova's locked_by owner|admin, 2.73 locked_reason), and the instance action
    record (os-instance-actions): one row per API request that acted on a server, its events beneath it."""
    db.executescript(
        """
        ALTER TABLE servers ADD COLUMN locked_by TEXT;
        ALTER TABLE servers ADD COLUMN locked_reason TEXT;
        CREATE TABLE instance_actions (
            id INTEGER PRIMARY KEY AUTOINCREMENT, server_uuid TEXT NOT NULL, action TEXT NOT NULL,
            request_id TEXT NOT NULL, project_id TEXT, user_id TEXT, start_time TEXT NOT NULL, message TEXT,
            updated_at TEXT NOT NULL);
        CREATE INDEX instance_actions_server ON instance_actions(server_uuid, start_time);
        CREATE TABLE instance_action_events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            action_id INTEGER NOT NULL REFERENCES instance_actions(id) ON DELETE CASCADE, event TEXT NOT NULL,
            start_time TEXT NOT NULL, finish_time TEXT, result TEXT, traceback TEXT, details TEXT, host TEXT);
        CREATE INDEX instance_action_events_action ON instance_action_events(action_id);
        """
    )


@migrations(name="0013_volumes_snapshots_types")
def m0013_volumes_snapshots_types(db: Database) -> None:
    """Block storage (issue 19): volume types (with Cinder's default type), volumes, their attachments, snapshots
    and the projects' block storage quotas (apart from the compute ones: the resource names are Cinder's).
    Metadata, image metadata and extra specs are JSON objects in their rows."""
    db.executescript(
        """
        CREATE TABLE volume_types (
            id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, description TEXT, is_public INTEGER NOT NULL DEFAULT 1,
            extra_specs TEXT NOT NULL DEFAULT '{}', created_at TEXT NOT NULL, updated_at TEXT);
        CREATE TABLE volumes (
            serial INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, project_id TEXT NOT NULL,
            user_id TEXT NOT NULL, name TEXT, description TEXT, size INTEGER NOT NULL, status TEXT NOT NULL,
            availability_zone TEXT NOT NULL, volume_type_id TEXT NOT NULL REFERENCES volume_types(id),
            snapshot_id TEXT, source_volid TEXT, image_id TEXT, bootable INTEGER NOT NULL DEFAULT 0,
            metadata TEXT NOT NULL DEFAULT '{}', image_metadata TEXT, previous_status TEXT, extend_to INTEGER,
            upload_image_id TEXT, created_at TEXT NOT NULL, updated_at TEXT);
        CREATE INDEX volumes_project ON volumes(project_id, created_at);
        CREATE TABLE volume_attachments (
            id TEXT PRIMARY KEY, volume_id TEXT NOT NULL REFERENCES volumes(id), server_id TEXT NOT NULL,
            device TEXT, attached_host TEXT, attached_at TEXT);
        CREATE INDEX volume_attachments_volume ON volume_attachments(volume_id);
        CREATE TABLE volume_snapshots (
            serial INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
            volume_id TEXT NOT NULL REFERENCES volumes(id), project_id TEXT NOT NULL, user_id TEXT NOT NULL,
            name TEXT, description TEXT, size INTEGER NOT NULL, status TEXT NOT NULL,
            progress TEXT NOT NULL DEFAULT '0%', volume_type_id TEXT, metadata TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL, updated_at TEXT);
        CREATE INDEX volume_snapshots_project ON volume_snapshots(project_id, created_at);
        CREATE INDEX volume_snapshots_volume ON volume_snapshots(volume_id);
        CREATE TABLE volume_quotas (
            project_id TEXT NOT NULL, resource TEXT NOT NULL, hard_limit INTEGER NOT NULL,
            PRIMARY KEY (project_id, resource));
        """
    )
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")
    db["volume_types"].insert({"id": str(uuid.uuid4()), "name": "__DEFAULT__", "description": "Default Volume Type",
                               "is_public": 1, "extra_specs": "{}", "created_at": now})


@migrations(name="0014_volume_attachments_tags")
def m0014_volume_attachments_tags(db: Database) -> None:
    """Attachments (issue 20): the tag (2.49) and delete_on_termination (2.79) Nova keeps on its block device
    mapping, and the lookup by server."""
    db.executescript(
        """
        ALTER TABLE volume_attachments ADD COLUMN tag TEXT;
        ALTER TABLE volume_attachments ADD COLUMN delete_on_termination INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX volume_attachments_server ON volume_attachments(server_id);
        """
    )


@migrations(name="0015_servers_ladder_fields")
def m0015_servers_ladder_fields(db: Database) -> None:
    """What the microversions up to 2.52 show of a server: its description (2.19), its tags (2.26), the flavor's
    extra specs as they were at create (2.47, Nova keeps the flavor with the instance), and the device tags asked
    for at create (2.32, 2.42). Existing servers take their flavor's current extra specs and, as Nova did before
    2.19, their name as description."""
    db.executescript(
        """
        ALTER TABLE servers ADD COLUMN description TEXT;
        ALTER TABLE servers ADD COLUMN flavor_extra_specs TEXT NOT NULL DEFAULT '{}';
        ALTER TABLE servers ADD COLUMN device_tags TEXT NOT NULL DEFAULT '[]';
        UPDATE servers SET description = name;
        UPDATE servers SET flavor_extra_specs = coalesce((SELECT json_group_object(key, value)
            FROM flavor_extra_specs WHERE flavor_extra_specs.flavorid = servers.flavorid), '{}');
        CREATE TABLE server_tags (
            server_uuid TEXT NOT NULL REFERENCES servers(uuid) ON DELETE CASCADE, tag TEXT NOT NULL,
            PRIMARY KEY (server_uuid, tag));
        CREATE INDEX server_tags_tag ON server_tags(tag);
        """
    )


@migrations(name="0016_host_services_groups")
def m0016_host_services_groups(db: Database) -> None:
    """The services Nova lists for this one node (os-services), its compute node (os-hypervisors), and server
    groups with their members (os-server-groups)."""
    db.executescript(
        """
        CREATE TABLE services (
            id INTEGER PRIMARY KEY AUTOINCREMENT, uuid TEXT NOT NULL UNIQUE, host TEXT NOT NULL,
            binary TEXT NOT NULL, topic TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0, disabled_reason TEXT,
            forced_down INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT,
            deleted INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE compute_nodes (
            id INTEGER PRIMARY KEY AUTOINCREMENT, uuid TEXT NOT NULL UNIQUE, host TEXT NOT NULL,
            hypervisor_hostname TEXT NOT NULL, created_at TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE server_groups (
            id INTEGER PRIMARY KEY AUTOINCREMENT, uuid TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
            policy TEXT NOT NULL, rules TEXT NOT NULL DEFAULT '{}', project_id TEXT NOT NULL,
            user_id TEXT NOT NULL, created_at TEXT NOT NULL);
        CREATE TABLE server_group_members (
            group_uuid TEXT NOT NULL REFERENCES server_groups(uuid) ON DELETE CASCADE,
            server_uuid TEXT NOT NULL, PRIMARY KEY (group_uuid, server_uuid));
        CREATE INDEX server_group_members_server ON server_group_members(server_uuid);
        """
    )


@migrations(name="0017_servers_pinned_zone_image_properties")
def m0017_servers_pinned_zone_image_properties(db: Database) -> None:
    """The availability zone a server was asked for at create (Nova's request spec zone, shown from 2.96 as
    `pinned_availability_zone`) and the image properties copied into it at create (Nova's `image_` system
    metadata, shown from 2.98). Older servers were pinned to no zone; their image properties are not known."""
    db.executescript(
        """
        ALTER TABLE servers ADD COLUMN pinned_availability_zone TEXT;
        ALTER TABLE servers ADD COLUMN image_properties TEXT NOT NULL DEFAULT '{}';
        """
    )


@migrations(name="0018_server_passwords")
def m0018_server_passwords(db: Database) -> None:
    """The password a guest posted to the metadata service (openstack/<v>/password), at most one per server: what
    os-server-password returns and clears (compute/server_passwords.py)."""
    db.executescript(
        """
        CREATE TABLE server_passwords (
            server_uuid TEXT PRIMARY KEY REFERENCES servers(uuid) ON DELETE CASCADE, password TEXT NOT NULL);
        """
    )


@migrations(name="0019_server_list_indexes")
def m0019_server_list_indexes(db: Database) -> None:
    """Server lists whose cost follows the rows they return (issue 22): live servers of every project by creation
    (all_tenants), and by vm_state then creation, in a project or across them (the status filter); and the floating
    IPs of a port, which each listed server's NICs look up. A project's servers by creation already have
    servers_project."""
    db.executescript(
        """
        CREATE INDEX servers_live_created ON servers(deleted, created_at);
        CREATE INDEX servers_project_state ON servers(project_id, deleted, vm_state, created_at);
        CREATE INDEX servers_live_state ON servers(deleted, vm_state, created_at);
        CREATE INDEX floatingips_fixed_port ON floatingips(fixed_port_id);
        """
    )


@migrations(name="0020_server_migrations_and_shelves")
def m0020_server_migrations_and_shelves(db: Database) -> None:
    """Nova's migration records (issue 18: resize on this one host): one row per resize, its status from
    pre-migrating to finished, then confirmed or reverted (or error); the old and new flavors as the server had
    them (JSON: what a revert puts back) and the vm_state it had before (Nova's old_vm_state). And a shelved
    server's image and host (Nova's shelved_image_id, shelved_at, shelved_host system metadata)."""
    db.executescript(
        """
        CREATE TABLE server_migrations (
            id INTEGER PRIMARY KEY AUTOINCREMENT, uuid TEXT NOT NULL UNIQUE,
            server_uuid TEXT NOT NULL, project_id TEXT NOT NULL, user_id TEXT NOT NULL,
            migration_type TEXT NOT NULL, status TEXT NOT NULL,
            source_compute TEXT, dest_compute TEXT, source_node TEXT, dest_node TEXT, dest_host TEXT,
            old_instance_type_id INTEGER, new_instance_type_id INTEGER,
            old_flavor TEXT NOT NULL, new_flavor TEXT NOT NULL, old_vm_state TEXT NOT NULL,
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
        CREATE INDEX server_migrations_server ON server_migrations(server_uuid, status);
        CREATE INDEX server_migrations_updated ON server_migrations(updated_at);
        CREATE TABLE server_shelves (
            server_uuid TEXT PRIMARY KEY REFERENCES servers(uuid) ON DELETE CASCADE, image_id TEXT NOT NULL,
            shelved_at TEXT NOT NULL, shelved_host TEXT);
        """
    )


@migrations(name="0021_volume_attachments_boot_index")
def m0021_volume_attachments_boot_index(db: Database) -> None:
    """Boot from volume (issue 20): an attachment made by a create keeps its mapping's boot_index (0: the server's
    root disk, vda) and disk_bus (Nova's block device mapping fields); a hot-plugged one has neither."""
    db.executescript(
        """
        ALTER TABLE volume_attachments ADD COLUMN boot_index INTEGER;
        ALTER TABLE volume_attachments ADD COLUMN disk_bus TEXT;
        """
    )


@migrations(name="0022_public_serials")
def m0022_public_serials(db: Database) -> None:
    """Integer serials for the resources whose tables key them by UUID alone, for the dialects that show integer
    ids: networks, ports and floating IPs (Cyclades, D11; Helion, D54) get theirs as each row is inserted (a
    trigger), the rows already there in creation order; security groups and their rules (Helion, D55) on first
    sight. One sequence; a serial is never reused."""
    db.executescript(
        """
        CREATE TABLE public_serials (
            serial INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, id TEXT NOT NULL, UNIQUE (kind, id));
        INSERT INTO public_serials (kind, id) SELECT 'network', id FROM networks ORDER BY created_at, id;
        INSERT INTO public_serials (kind, id) SELECT 'port', id FROM ports ORDER BY created_at, id;
        CREATE TRIGGER networks_public_serial AFTER INSERT ON networks BEGIN
            INSERT OR IGNORE INTO public_serials (kind, id) VALUES ('network', NEW.id); END;
        CREATE TRIGGER ports_public_serial AFTER INSERT ON ports BEGIN
            INSERT OR IGNORE INTO public_serials (kind, id) VALUES ('port', NEW.id); END;
        INSERT INTO public_serials (kind, id) SELECT 'floatingip', id FROM floatingips ORDER BY created_at, id;
        CREATE TRIGGER floatingips_public_serial AFTER INSERT ON floatingips BEGIN
            INSERT OR IGNORE INTO public_serials (kind, id) VALUES ('floatingip', NEW.id); END;
        """
    )


@migrations(name="0023_suspended_servers")
def m0023_suspended_servers(db: Database) -> None:
    """The administrative suspension of a server (the Cyclades dialect's `suspended`, D14): a row while set; the
    server's owner may not read it (show, metadata, diagnostics, stats answer 403) until an admin clears it."""
    db.executescript(
        """
        CREATE TABLE suspended_servers (
            server_uuid TEXT PRIMARY KEY REFERENCES servers(uuid) ON DELETE CASCADE, suspended_at TEXT NOT NULL);
        """
    )


@migrations(name="0024_port_firewall_profiles")
def m0024_port_firewall_profiles(db: Database) -> None:
    """A port's firewall profile (the Cyclades `firewallProfile` action, #327): ENABLED or PROTECTED while set (a
    port without a row is DISABLED), enforced by hostnet's profile chain before the security-group chain."""
    db.executescript(
        """
        CREATE TABLE port_firewall_profiles (
            port_id TEXT PRIMARY KEY REFERENCES ports(id) ON DELETE CASCADE, profile TEXT NOT NULL);
        """
    )


@migrations(name="0025_server_extra_keys")
def m0025_server_extra_keys(db: Database) -> None:
    """The keypairs a server holds besides its first (`key_name`/`key_data`), as a JSON list of [name, public key]:
    Cyclades' `SNF:key_names` installs every named key (meta_data.json `public_keys` and `keys`, like Nova's
    instance.keypairs)."""
    db.executescript("ALTER TABLE servers ADD COLUMN extra_keys TEXT NOT NULL DEFAULT '[]';")


@migrations(name="0026_server_file_ownership")
def m0026_server_file_ownership(db: Database) -> None:
    """A personality file's owner, group and mode (Cyclades, D22 and D65): NULL when not given; they go into the
    config drive's `files[]` entry and the mode onto the drive's copy of the file."""
    db.executescript(
        """
        ALTER TABLE server_files ADD COLUMN owner TEXT;
        ALTER TABLE server_files ADD COLUMN file_group TEXT;
        ALTER TABLE server_files ADD COLUMN mode INTEGER;
        """
    )


@migrations(name="0027_servers_root_is_volume")
def m0027_servers_root_is_volume(db: Database) -> None:
    """A server whose root disk is a volume (issue 20): told apart from its image, which Nova shows as the request's
    imageRef (a volume-backed server's snapshot image booted from: its id; booted from a volume alone: "")."""
    db.executescript(
        """
        ALTER TABLE servers ADD COLUMN root_is_volume INTEGER NOT NULL DEFAULT 0;
        UPDATE servers SET root_is_volume = 1 WHERE image_id = '';
        """
    )


@migrations(name="0028_server_config_drives")
def m0028_server_config_drives(db: Database) -> None:
    """A server's own config drive form, when a dialect chose one at create (Helion's vfat drive with /meta.js and
    the personality files at their paths, D65): its format and layout (compute/drive_layouts.py), so that a
    rebuild's and a rescue's drive is written the same way. No row: the host's format, Nova's tree only."""
    db.executescript(
        """
        CREATE TABLE server_config_drives (
            server_uuid TEXT PRIMARY KEY REFERENCES servers(uuid) ON DELETE CASCADE, format TEXT NOT NULL,
            layout TEXT NOT NULL DEFAULT '');
        """
    )


@migrations(name="0029_k5_image_jobs")
def m0029_k5_image_jobs(db: Database) -> None:
    """K5's image import and export jobs (#2401-#2407), kept across restarts: one row per job, its record as JSON
    (an import's credentials included, purged with the row 7 days after it finished); `seq` is the admission order
    (newest first lists by it)."""
    db.executescript(
        """
        CREATE TABLE k5_image_jobs (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
            project_id TEXT NOT NULL, finished INTEGER NOT NULL, finished_at TEXT, record TEXT NOT NULL);
        CREATE INDEX k5_image_jobs_project ON k5_image_jobs(kind, project_id);
        """
    )


@migrations(name="0030_image_members")
def m0030_image_members(db: Database) -> None:
    """Glance v2 image members (#809-#813): the projects a `shared` image is shared with and each one's answer
    (pending, accepted, rejected); the rows go with the image row."""
    db.executescript(
        """
        CREATE TABLE image_members (
            image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE, member_id TEXT NOT NULL,
            status TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
            PRIMARY KEY (image_id, member_id));
        CREATE INDEX image_members_member ON image_members(member_id, status);
        """
    )


@migrations(name="0031_server_local_disks")
def m0031_server_local_disks(db: Database) -> None:
    """A server's ephemeral and swap disks when its create's block_device_mapping_v2 asked for them (blank -> local
    mappings: sizes, guest_format, device names), as JSON; NULL: the flavor's own ephemeral and swap disks."""
    db.executescript("ALTER TABLE servers ADD COLUMN local_disks TEXT;")


@migrations(name="0032_volume_attachment_bdm_uuid")
def m0032_volume_attachment_bdm_uuid(db: Database) -> None:
    """An attachment's block device mapping uuid (2.89 `bdm_uuid`) once its id changed (a 2.93 re-image makes the
    attachment anew, Nova keeps the BDM); NULL: derived from the id, as before."""
    db.executescript("ALTER TABLE volume_attachments ADD COLUMN bdm_uuid TEXT;")


@migrations(name="0033_server_reimages")
def m0033_server_reimages(db: Database) -> None:
    """The image of a volume-backed server's 2.93 rebuild while it runs (db/server_reimages.py): a rebuild replayed
    after a stop re-images the root volume as the request asked."""
    db.executescript(
        """
        CREATE TABLE server_reimages (
            server_uuid TEXT PRIMARY KEY REFERENCES servers(uuid) ON DELETE CASCADE, image_id TEXT NOT NULL);
        """
    )


@migrations(name="0034_server_root_disk_tag")
def m0034_server_root_disk_tag(db: Database) -> None:
    """The device tag of a server's image -> local root mapping (2.32, 2.42): its local root disk in the device
    metadata. NULL: untagged (the tags of blank -> local mappings are in local_disks)."""
    db.executescript("ALTER TABLE servers ADD COLUMN root_disk_tag TEXT;")
