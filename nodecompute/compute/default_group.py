"""Each project's `default` security group, made on first use as Neutron makes it (on the project's first network,
port, group or group list): Neutron's four starting rules (send anything, IPv4 and IPv6; accept anything from the
group's own members) and a copy of Nova's default rules (os-security-group-default-rules, as nova-network copied
them into each new default group). Runs inside the caller's write transaction."""
from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from nodecompute.compute.secgroup_rules import checked, from_nova_default, rule_key, starting_rules, stored
from nodecompute.db import security_groups as security_groups_db
from nodecompute.domain.errors import ComputeError
from nodecompute.domain.network_models import DEFAULT_GROUP, DEFAULT_GROUP_DESCRIPTION, SecurityGroup

log = logging.getLogger(__name__)


def ensure_default(db: Any, project_id: str, now: datetime) -> str:
    """The id of the project's default group, made (with its rules) when it has none."""
    found = security_groups_db.default_group_id(db, project_id)
    if found is not None:
        return found
    group_id = str(uuid.uuid4())
    rules = list(starting_rules(group_id, project_id, True, now))
    keys = {rule_key(rule) for rule in rules}
    for default in security_groups_db.list_default_rules(db):
        try:
            request = checked(from_nova_default(group_id, project_id, default.protocol, default.from_port,
                                                default.to_port, default.cidr))
        except (ComputeError, ValueError) as exc:
            log.warning("Nova default rule %s does not fit a Neutron rule, skipped: %s", default.id, exc)
            continue
        if rule_key(request) not in keys:
            keys.add(rule_key(request))
            rules.append(stored(request, now))
    security_groups_db.insert_group(db, SecurityGroup(group_id, project_id, DEFAULT_GROUP, DEFAULT_GROUP_DESCRIPTION,
                                         tuple(rules), now, now))
    return group_id
