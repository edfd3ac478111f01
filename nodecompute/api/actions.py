"""POST .../action: one dispatcher for every action route (Nova's wsgi action_peek).

An action table maps each body key to its `Action`: the operation id (for the dialect's schema, view and status),
the handler `(request, body) -> response`, and the policy a writer must pass before the body is checked (None: the
handler checks its own, after the body, as Nova's flavor actions do). The body must have exactly one key; an
unknown key is 400 "There is no such action".
"""
from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from nodecompute.api import auth, validation
from nodecompute.api.keys import op_key
from nodecompute.api.respond import check_body
from nodecompute.api.routing import Action, ActionHandler  # noqa: F401 (the dispatch tables import them from here)
from nodecompute.domain.errors import BadRequest, MalformedBody


def action_key(body: dict, too_many_keys: str | None = None) -> str:
    """The single action key of a parsed body."""
    if len(body) != 1:
        raise MalformedBody(too_many_keys)
    return next(iter(body))


async def dispatch(request: web.Request, actions: Mapping[str, Action], too_many_keys: str | None = None
                   ) -> web.StreamResponse:
    body = await validation.json_body(request)
    key = action_key(body, too_many_keys)
    action = actions.get(key)
    if action is None:
        raise BadRequest(f"There is no such action: {key}")
    if action.policy is not None:
        auth.require_writer(request, action.policy)
    request[op_key] = action.op
    return await action.handler(request, check_body(request, body))
