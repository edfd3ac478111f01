"""Acting in a project other than the token's: Cyclades' `project` on create (seed 000, Create Server: "the project
where the VM is to be assigned"; issue 23). A user may act in a project where they hold a role, with those roles;
an admin in any existing project; anyone else gets 403."""
from __future__ import annotations

import dataclasses

from nodecompute.db import identity as identity_db
from nodecompute.db.store import Store
from nodecompute.domain.errors import Forbidden
from nodecompute.domain.models import AuthContext

NOT_A_MEMBER = "You are not a member of project {project}"


def acting_in(store: Store, ctx: AuthContext, project_id: str) -> AuthContext:
    """`ctx` moved to `project_id` (the project's id, not its name), or Forbidden."""
    if project_id == ctx.project_id:
        return ctx
    project = store.read(identity_db.find_project, project_id)
    roles = store.read(identity_db.roles_for, ctx.user_id, project_id) if project and project.id == project_id else ()
    if roles:
        return dataclasses.replace(ctx, project_id=project.id, project_name=project.name, roles=roles)
    if ctx.is_admin and project is not None and project.id == project_id:
        return dataclasses.replace(ctx, project_id=project.id, project_name=project.name)
    raise Forbidden(NOT_A_MEMBER.format(project=project_id))


def member_projects(store: Store, ctx: AuthContext, projects: list[str]) -> list[str]:
    """Those of `projects` the caller holds a role in (all of them for an admin), in their order."""
    if ctx.is_admin:
        return list(projects)
    return [project for project in projects if store.read(identity_db.roles_for, ctx.user_id, project)]
