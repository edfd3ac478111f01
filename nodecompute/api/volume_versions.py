"""Block storage version documents (#1231): Cinder v3 at microversion 3.0.

`/volume/` answers 300 and `/volume/v3/` 200, both with Cinder's `{"versions": [v3.0]}` (cinder/api/versions.py;
its self link is `<volume root>/v3/`). Cinder removed v2, and so does this document: the v2 paths are served for
the vendor dialects, which catalogue and describe them. Unlike Cinder (whose /v3 router sits behind the token
check), the v3 document needs no token: it says nothing private and lets version discovery run unauthenticated.
"""
from __future__ import annotations

from typing import Any

from aiohttp import web

from nodecompute.api.dialect import Microversions
from nodecompute.api.microversions import version_text
from nodecompute.api.respond import Out, respond
from nodecompute.api.urls import base_url

MICROVERSIONS = Microversions("volume", None, min=(3, 0), max=(3, 0))
UPDATED = "2023-08-31T00:00:00Z"  # Cinder's api_version_request.UPDATED
MEDIA_TYPE = "application/vnd.openstack.volume+json;version=3"


def versions_body(root: str, mv: Microversions = MICROVERSIONS) -> dict[str, Any]:
    return {"versions": [{
        "id": "v3.0", "status": "CURRENT", "version": version_text(mv.max), "min_version": version_text(mv.min),
        "updated": UPDATED,
        "links": [{"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"},
                  {"rel": "self", "href": f"{root}/v3/"}],
        "media-types": [{"base": "application/json", "type": MEDIA_TYPE}],
    }]}


def versions_view(out: Out, _: Any) -> dict[str, Any]:
    return versions_body(f"{base_url(out.request)}{out.dialect.prefix}", out.dialect.microversions or MICROVERSIONS)


async def show(request: web.Request) -> web.StreamResponse:
    return respond(request)


VIEWS = {"#1231": versions_view, "volume:v3": versions_view}
STATUSES = {"#1231": 300}
