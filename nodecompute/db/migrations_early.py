"""Schema migrations 0001-0009 (numbered, applied in order, never edited once shipped)."""
from __future__ import annotations

import uuid

from sqlite_utils import Database

from nodecompute.db.migration_set import migrations


@migrations(name="0001_identity")
def m0001_identity(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE projects (
            id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, description TEXT NOT NULL DEFAULT '',
            enabled INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL);
        CREATE TABLE users (
            id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL,
            default_project_id TEXT REFERENCES projects(id), enabled INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL);
        CREATE TABLE role_assignments (
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            role TEXT NOT NULL CHECK (role IN ('admin', 'member', 'reader')),
            PRIMARY KEY (user_id, project_id, role));
        CREATE TABLE tokens (
            digest TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            project_id TEXT REFERENCES projects(id) ON DELETE CASCADE, methods TEXT NOT NULL,
            audit_id TEXT NOT NULL, issued_at TEXT NOT NULL, expires_at TEXT NOT NULL);
        CREATE INDEX tokens_expires ON tokens(expires_at);
        """
    )


@migrations(name="0002_flavors_keypairs_quotas")
def m0002_flavors_keypairs_quotas(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE flavors (
            serial INTEGER PRIMARY KEY AUTOINCREMENT, flavorid TEXT NOT NULL UNIQUE, name TEXT NOT NULL UNIQUE,
            memory_mb INTEGER NOT NULL, vcpus INTEGER NOT NULL, root_gb INTEGER NOT NULL,
            ephemeral_gb INTEGER NOT NULL DEFAULT 0, swap INTEGER NOT NULL DEFAULT 0,
            rxtx_factor REAL NOT NULL DEFAULT 1.0, is_public INTEGER NOT NULL DEFAULT 1,
            disabled INTEGER NOT NULL DEFAULT 0, description TEXT, created_at TEXT NOT NULL);
        CREATE TABLE flavor_projects (
            flavorid TEXT NOT NULL REFERENCES flavors(flavorid) ON DELETE CASCADE, project_id TEXT NOT NULL,
            PRIMARY KEY (flavorid, project_id));
        CREATE TABLE flavor_extra_specs (
            flavorid TEXT NOT NULL REFERENCES flavors(flavorid) ON DELETE CASCADE, key TEXT NOT NULL,
            value TEXT NOT NULL, PRIMARY KEY (flavorid, key));
        CREATE TABLE keypairs (
            serial INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL, name TEXT NOT NULL,
            type TEXT NOT NULL DEFAULT 'ssh', fingerprint TEXT NOT NULL, public_key TEXT NOT NULL,
            created_at TEXT NOT NULL, UNIQUE (user_id, name));
        CREATE TABLE project_quotas (
            project_id TEXT NOT NULL, resource TEXT NOT NULL, hard_limit INTEGER NOT NULL,
            PRIMARY KEY (project_id, resource));
        CREATE TABLE quota_classes (
            class_name TEXT NOT NULL, resource TEXT NOT NULL, hard_limit INTEGER NOT NULL,
            PRIMARY KEY (class_name, resource));
        """
    )
    now = "1970-01-01T00:00:00.000000"
    defaults = [
        # flavorid, name, ram MB, vcpus, disk GB; m1.nano fits the test guest (behaviour: "a small flavor").
        ("1", "m1.tiny", 512, 1, 1),
        ("2", "m1.small", 2048, 1, 20),
        ("3", "m1.medium", 4096, 2, 40),
        ("4", "m1.large", 8192, 4, 80),
        ("5", "m1.xlarge", 16384, 8, 160),
        ("42", "m1.nano", 128, 1, 1),
    ]
    db["flavors"].insert_all(
        {"flavorid": f, "name": n, "memory_mb": r, "vcpus": v, "root_gb": d, "created_at": now}
        for f, n, r, v, d in defaults
    )


@migrations(name="0003_servers_images")
def m0003_servers_images(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE images (
            id TEXT PRIMARY KEY, name TEXT, owner TEXT, visibility TEXT NOT NULL DEFAULT 'private',
            status TEXT NOT NULL DEFAULT 'queued', disk_format TEXT, container_format TEXT,
            size INTEGER, virtual_size INTEGER, checksum TEXT, os_hash_algo TEXT, os_hash_value TEXT,
            content_sha256 TEXT, min_disk INTEGER NOT NULL DEFAULT 0, min_ram INTEGER NOT NULL DEFAULT 0,
            protected INTEGER NOT NULL DEFAULT 0, properties TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL, deleted_at TEXT, deleted INTEGER NOT NULL DEFAULT 0);
        CREATE INDEX images_owner ON images(owner, deleted);
        CREATE TABLE servers (
            serial INTEGER PRIMARY KEY AUTOINCREMENT, uuid TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
            project_id TEXT NOT NULL, user_id TEXT NOT NULL, hostname TEXT NOT NULL,
            flavorid TEXT NOT NULL, flavor_name TEXT NOT NULL, memory_mb INTEGER NOT NULL, vcpus INTEGER NOT NULL,
            root_gb INTEGER NOT NULL, ephemeral_gb INTEGER NOT NULL, swap INTEGER NOT NULL,
            image_id TEXT NOT NULL, image_sha256 TEXT, key_name TEXT, key_data TEXT, user_data BLOB,
            config_drive INTEGER NOT NULL DEFAULT 0, access_ipv4 TEXT NOT NULL DEFAULT '',
            access_ipv6 TEXT NOT NULL DEFAULT '', disk_config TEXT NOT NULL DEFAULT 'MANUAL',
            availability_zone TEXT NOT NULL, vm_state TEXT NOT NULL, task_state TEXT, power_state INTEGER NOT NULL DEFAULT 0,
            progress INTEGER NOT NULL DEFAULT 0, launch_index INTEGER NOT NULL DEFAULT 0,
            reservation_id TEXT NOT NULL, host TEXT, locked INTEGER NOT NULL DEFAULT 0,
            scheduler_hints TEXT NOT NULL DEFAULT '{}',
            fault_code INTEGER, fault_message TEXT, fault_details TEXT, fault_created TEXT,
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL, launched_at TEXT, terminated_at TEXT,
            deleted_at TEXT, deleted INTEGER NOT NULL DEFAULT 0);
        CREATE INDEX servers_project ON servers(project_id, deleted, created_at);
        CREATE INDEX servers_updated ON servers(updated_at);
        CREATE TABLE server_metadata (
            server_uuid TEXT NOT NULL REFERENCES servers(uuid) ON DELETE CASCADE, key TEXT NOT NULL,
            value TEXT NOT NULL, PRIMARY KEY (server_uuid, key));
        CREATE TABLE server_files (
            server_uuid TEXT NOT NULL REFERENCES servers(uuid) ON DELETE CASCADE, position INTEGER NOT NULL,
            path TEXT NOT NULL, contents BLOB NOT NULL, PRIMARY KEY (server_uuid, position));
        """
    )


@migrations(name="0004_identity_lockout")
def m0004_identity_lockout(db: Database) -> None:
    """Keystone's failed_auth_count / failed_auth_at, for [identity] lockout_failure_attempts."""
    db.executescript(
        """
        ALTER TABLE users ADD COLUMN failed_auth_count INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE users ADD COLUMN failed_auth_at TEXT;
        """
    )


@migrations(name="0005_server_root_disk_bytes")
def m0005_server_root_disk_bytes(db: Database) -> None:
    """The root disk a server really gets: the flavor's disk, or the image's virtual size for a flavor with disk 0
    (the host's disk room counts it). Existing rows take their image's size when the image row is still there."""
    db.executescript(
        """
        ALTER TABLE servers ADD COLUMN root_disk_bytes INTEGER NOT NULL DEFAULT 0;
        UPDATE servers SET root_disk_bytes = CASE WHEN root_gb > 0 THEN root_gb * 1073741824
            ELSE coalesce((SELECT virtual_size FROM images WHERE images.id = servers.image_id), 0) END;
        """
    )


@migrations(name="0006_networking_core")
def m0006_networking_core(db: Database) -> None:
    """Neutron's core resources (networks, subnets, ports and their IP allocations), the per-project default
    security group that ports reference until security groups arrive, and the networking quotas."""
    db.executescript(
        """
        CREATE TABLE networks (
            id TEXT PRIMARY KEY, project_id TEXT NOT NULL, name TEXT NOT NULL DEFAULT '',
            description TEXT NOT NULL DEFAULT '', admin_state_up INTEGER NOT NULL DEFAULT 1,
            shared INTEGER NOT NULL DEFAULT 0, external INTEGER NOT NULL DEFAULT 0, mtu INTEGER NOT NULL,
            port_security_enabled INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
            revision_number INTEGER NOT NULL DEFAULT 1);
        CREATE INDEX networks_project ON networks(project_id);
        CREATE TABLE subnets (
            id TEXT PRIMARY KEY, network_id TEXT NOT NULL REFERENCES networks(id), project_id TEXT NOT NULL,
            name TEXT NOT NULL DEFAULT '', description TEXT NOT NULL DEFAULT '', cidr TEXT NOT NULL,
            gateway_ip TEXT, allocation_pools TEXT NOT NULL DEFAULT '[]', dns_nameservers TEXT NOT NULL DEFAULT '[]',
            host_routes TEXT NOT NULL DEFAULT '[]', enable_dhcp INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL, revision_number INTEGER NOT NULL DEFAULT 1);
        CREATE INDEX subnets_network ON subnets(network_id);
        CREATE TABLE ports (
            id TEXT PRIMARY KEY, network_id TEXT NOT NULL REFERENCES networks(id), project_id TEXT NOT NULL,
            name TEXT NOT NULL DEFAULT '', description TEXT NOT NULL DEFAULT '', mac_address TEXT NOT NULL,
            device_id TEXT NOT NULL DEFAULT '', device_owner TEXT NOT NULL DEFAULT '',
            admin_state_up INTEGER NOT NULL DEFAULT 1, status TEXT NOT NULL DEFAULT 'DOWN',
            port_security_enabled INTEGER NOT NULL DEFAULT 1, host_id TEXT NOT NULL DEFAULT '',
            vif_type TEXT NOT NULL DEFAULT 'unbound', vnic_type TEXT NOT NULL DEFAULT 'normal',
            hostname TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
            revision_number INTEGER NOT NULL DEFAULT 1);
        CREATE INDEX ports_network ON ports(network_id);
        CREATE INDEX ports_project ON ports(project_id);
        CREATE INDEX ports_device ON ports(device_id);
        CREATE UNIQUE INDEX ports_mac ON ports(mac_address);
        CREATE TABLE ip_allocations (
            subnet_id TEXT NOT NULL REFERENCES subnets(id), ip_address TEXT NOT NULL,
            port_id TEXT NOT NULL REFERENCES ports(id) ON DELETE CASCADE, position INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (subnet_id, ip_address));
        CREATE INDEX ip_allocations_port ON ip_allocations(port_id);
        CREATE TABLE security_groups (
            id TEXT PRIMARY KEY, project_id TEXT NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL DEFAULT '',
            stateful INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
            revision_number INTEGER NOT NULL DEFAULT 1);
        CREATE UNIQUE INDEX security_groups_default ON security_groups(project_id) WHERE name = 'default';
        CREATE TABLE port_security_groups (
            port_id TEXT NOT NULL REFERENCES ports(id) ON DELETE CASCADE,
            security_group_id TEXT NOT NULL REFERENCES security_groups(id),
            PRIMARY KEY (port_id, security_group_id));
        CREATE TABLE network_quotas (
            project_id TEXT NOT NULL, resource TEXT NOT NULL, hard_limit INTEGER NOT NULL,
            PRIMARY KEY (project_id, resource));
        """
    )


@migrations(name="0007_servers_guest_channels")
def m0007_servers_guest_channels(db: Database) -> None:
    """The virtio-serial channels a server's domain carries (names, JSON), chosen from its image's properties at
    create: kept on the row because every define (start, hard reboot) renders the domain from the row."""
    db.executescript("ALTER TABLE servers ADD COLUMN guest_channels TEXT NOT NULL DEFAULT '[]';")


@migrations(name="0008_secgroups_rules_plugs")
def m0008_secgroups_rules_plugs(db: Database) -> None:
    """Security-group rules (a group's go with it; a rule whose remote group goes, goes too, as in Neutron), Nova's
    default rules (integer ids, nova-network's), where ports are plugged (tap, packet mark) and each network's
    conntrack zone; the default groups made before rules existed get Neutron's four default rules."""
    db.executescript(
        """
        CREATE TABLE security_group_rules (
            id TEXT PRIMARY KEY,
            security_group_id TEXT NOT NULL REFERENCES security_groups(id) ON DELETE CASCADE,
            project_id TEXT NOT NULL, direction TEXT NOT NULL, ethertype TEXT NOT NULL, protocol TEXT,
            port_range_min INTEGER, port_range_max INTEGER, remote_ip_prefix TEXT,
            remote_group_id TEXT REFERENCES security_groups(id) ON DELETE CASCADE,
            description TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
            revision_number INTEGER NOT NULL DEFAULT 1);
        CREATE INDEX security_group_rules_group ON security_group_rules(security_group_id);
        CREATE INDEX security_group_rules_remote ON security_group_rules(remote_group_id);
        CREATE INDEX security_group_rules_project ON security_group_rules(project_id);
        CREATE TABLE security_group_default_rules (
            id INTEGER PRIMARY KEY AUTOINCREMENT, protocol TEXT NOT NULL, from_port INTEGER NOT NULL,
            to_port INTEGER NOT NULL, cidr TEXT NOT NULL);
        CREATE TABLE port_plugs (
            port_id TEXT PRIMARY KEY REFERENCES ports(id) ON DELETE CASCADE, tap TEXT NOT NULL UNIQUE,
            host TEXT NOT NULL DEFAULT '', mark INTEGER NOT NULL UNIQUE);
        CREATE TABLE network_zones (
            network_id TEXT PRIMARY KEY REFERENCES networks(id) ON DELETE CASCADE, zone INTEGER NOT NULL UNIQUE);
        """
    )
    for group_id, project_id, created_at in db.execute(
            "SELECT id, project_id, created_at FROM security_groups WHERE name = 'default'").fetchall():
        for direction, ethertype, remote in (("egress", "IPv4", None), ("egress", "IPv6", None),
                                             ("ingress", "IPv4", group_id), ("ingress", "IPv6", group_id)):
            db.execute("INSERT INTO security_group_rules (id, security_group_id, project_id, direction, ethertype, "
                       "remote_group_id, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)",
                       [str(uuid.uuid4()), group_id, project_id, direction, ethertype, remote, created_at,
                        created_at])


@migrations(name="0009_routers_floating_ips")
def m0009_routers_floating_ips(db: Database) -> None:
    """Neutron's L3: routers (their legs are ports owned by them), floating IPs (each holding its address through a
    port on the external network), the external network's is_default, and the auto-allocated topologies."""
    db.executescript(
        """
        ALTER TABLE networks ADD COLUMN is_default INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE routers (
            id TEXT PRIMARY KEY, project_id TEXT NOT NULL, name TEXT NOT NULL DEFAULT '',
            description TEXT NOT NULL DEFAULT '', admin_state_up INTEGER NOT NULL DEFAULT 1,
            status TEXT NOT NULL DEFAULT 'ACTIVE', gw_port_id TEXT REFERENCES ports(id),
            enable_snat INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
            revision_number INTEGER NOT NULL DEFAULT 1);
        CREATE INDEX routers_project ON routers(project_id);
        CREATE TABLE floatingips (
            id TEXT PRIMARY KEY, project_id TEXT NOT NULL, floating_network_id TEXT NOT NULL REFERENCES networks(id),
            floating_ip_address TEXT NOT NULL, floating_port_id TEXT NOT NULL REFERENCES ports(id),
            fixed_port_id TEXT REFERENCES ports(id), fixed_ip_address TEXT, router_id TEXT REFERENCES routers(id),
            status TEXT NOT NULL DEFAULT 'DOWN', description TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL, revision_number INTEGER NOT NULL DEFAULT 1);
        CREATE INDEX floatingips_project ON floatingips(project_id);
        CREATE INDEX floatingips_router ON floatingips(router_id);
        CREATE UNIQUE INDEX floatingips_fixed ON floatingips(floating_network_id, fixed_port_id, fixed_ip_address)
            WHERE fixed_port_id IS NOT NULL;
        CREATE TABLE auto_allocated_topologies (
            project_id TEXT PRIMARY KEY, network_id TEXT NOT NULL REFERENCES networks(id) ON DELETE CASCADE,
            router_id TEXT REFERENCES routers(id) ON DELETE SET NULL);
        """
    )
