"""Microversion 2.102 closes the query strings of the compute API: from it on, a GET refuses every query parameter
its schema does not name (Nova: "restrict additional query string parameters for all APIs"), as 2.75 did for the
lists and a few others.

`close_from_2102(queries, routes)` gives every GET operation of the compute face that is served at 2.102 and still
open there a closed schema from 2.102 on: its own schema with `additionalProperties` false, or an empty closed one
for an operation that names no parameter (server show, metadata, tags...). It also returns the set of operations
it closed; the face checks their queries before their handlers run (face.py), so a handler that reads no query
needs no change, and the check comes where Nova's query_schema decorator puts it: before the policy and the
lookup, after the token.

Left open, as Nova leaves them (facts read from Nova at tests/data/nova/SOURCE): the version documents (not
versioned), and four operations whose strict 2.102 schemas Nova defines but does not apply (OPEN_IN_NOVA). A route
Nova does not have keeps whatever its module says.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from nodecompute.api.dialect import Versioned, Version, served_at
from nodecompute.api.nova_catalog import find
from nodecompute.api.respond import QuerySchema
from nodecompute.api.routing import Route

CLOSED_FROM: Version = (2, 102)
# Nova's controllers still validating with their open schema at 2.102 (server_tags.py, volume_attachments.py and
# quota_sets.py decorate these with `show_query`/`index_query`/`defaults_query`, not the *_v2102 variants).
OPEN_IN_NOVA = frozenset({
    "server_tags.ServerTagsController.index", "server_tags.ServerTagsController.show",
    "volume_attachments.VolumeAttachmentController.show", "quota_sets.QuotaSetsController.defaults",
})
_NO_PARAMETERS = QuerySchema({"type": "object", "properties": {}, "additionalProperties": True})


def _closes(route: Route) -> bool:
    if route.method != "GET" or not route.versioned or not served_at(CLOSED_FROM, route.since, route.until):
        return False
    operation = find(route.method, route.path)
    return operation is not None and operation.nova_name not in OPEN_IN_NOVA


def close_from_2102(queries: Mapping[str, Versioned[QuerySchema]], routes: Iterable[Route]
                    ) -> tuple[dict[str, Versioned[QuerySchema]], frozenset[str]]:
    """(the query table with the compute GET operations closed from 2.102, the operations this closed)."""
    table = dict(queries)
    closed = set()
    for route in routes:
        if route.op in closed or not _closes(route):
            continue
        current = table.get(route.op, Versioned(_NO_PARAMETERS))
        schema = current.at(CLOSED_FROM)
        if schema.single.get("additionalProperties") is False:
            continue  # closed already (2.75's lists, or a module's own 2.102 step)
        table[route.op] = current.then(CLOSED_FROM, QuerySchema({**schema.single, "additionalProperties": False},
                                                                schema.repeated))
        closed.add(route.op)
    return table, frozenset(closed)
