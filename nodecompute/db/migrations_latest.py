"""Schema migrations from 0035 (numbered, applied in order, never edited once shipped): a change to the schema is a
new function at the end of this file."""
from __future__ import annotations

from sqlite_utils import Database

from nodecompute.db.migration_set import migrations


@migrations(name="0035_server_interface_pci_slot")
def m0035_server_interface_pci_slot(db: Database) -> None:
    """A tagged NIC's pinned PCI slot on bus 0 (its device metadata names it), chosen when it is plugged as the
    lowest of 0x10-0x17 its server's other NICs leave free (db/server_nics.py); NULL: unpinned. The tagged NICs
    already there keep the slot they were given, 0x10 + their position modulo 16."""
    db.executescript(
        """
        ALTER TABLE server_interfaces ADD COLUMN pci_slot INTEGER;
        UPDATE server_interfaces SET pci_slot = 16 + position % 16 WHERE tag IS NOT NULL;
        """
    )


@migrations(name="0036_server_page_covering_indexes")
def m0036_server_page_covering_indexes(db: Database) -> None:
    """The uuids of a page of servers in the default order (creation, then serial, descending), in a project or
    across them, read from the index alone (issue 22): the ids of a page of 100 took 33 us with a row looked up per
    id, 22 us now. `serial` (the rowid) is named before `uuid` so the index still gives the whole sort order."""
    db.executescript(
        """
        DROP INDEX servers_project;
        CREATE INDEX servers_project ON servers(project_id, deleted, created_at, serial, uuid);
        DROP INDEX servers_live_created;
        CREATE INDEX servers_live_created ON servers(deleted, created_at, serial, uuid);
        """
    )
