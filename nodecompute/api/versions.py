"""Compute version documents (#101-#103) and the 300 choices answer for other unversioned paths.

`MICROVERSIONS` is the range the /v2.1 root negotiates and its document advertises (the openstack dialect's).
"""
from __future__ import annotations

from typing import Any

from aiohttp import web

from nodecompute.api.dialect import Microversions
from nodecompute.api.faults import json_response
from nodecompute.api.microversions import version_text
from nodecompute.api.respond import Out, respond
from nodecompute.api.urls import base_url

# raised only when every microversion step up to it is implemented and tested
MICROVERSIONS = Microversions("compute", "X-OpenStack-Nova-API-Version", min=(2, 1), max=(2, 104))
V21_UPDATED = "2013-07-23T11:33:21Z"
V20_UPDATED = "2011-01-21T11:33:21Z"


def _v20(root: str) -> dict:
    return {
        "id": "v2.0", "status": "DEPRECATED", "version": "", "min_version": "", "updated": V20_UPDATED,
        "links": [{"rel": "self", "href": f"{root}/v2/"}],
    }


def _v21(root: str, mv: Microversions) -> dict:
    return {
        "id": "v2.1", "status": "CURRENT", "version": version_text(mv.max),
        "min_version": version_text(mv.min), "updated": V21_UPDATED,
        "links": [{"rel": "self", "href": f"{root}/v2.1/"}],
    }


def _with_details(doc: dict, media_version: str) -> dict:
    doc = dict(doc)
    doc["links"] = doc["links"] + [{"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"}]
    doc["media-types"] = [{
        "base": "application/json", "type": f"application/vnd.openstack.compute+json;version={media_version}",
    }]
    return doc


def _face_root(out: Out) -> tuple[str, Microversions]:
    return f"{base_url(out.request)}{out.dialect.prefix}", out.dialect.microversions or MICROVERSIONS


def versions_body(root: str, mv: Microversions) -> dict:
    return {"versions": [_v20(root), _v21(root, mv)]}


def versions_view(out: Out, _: Any) -> dict:
    return versions_body(*_face_root(out))


def v2_view(out: Out, _: Any) -> dict:
    root, _mv = _face_root(out)
    return {"version": _with_details(_v20(root), "2")}


def v21_view(out: Out, _: Any) -> dict:
    root, mv = _face_root(out)
    return {"version": _with_details(_v21(root, mv), "2.1")}


def choices_view(out: Out, tail: str) -> dict:
    """Any other unversioned compute path: the versions that could serve it (Nova's versions.py::multi)."""
    root, mv = _face_root(out)
    entries = []
    for doc in (_v20(root), _v21(root, mv)):
        entries.append({
            "id": doc["id"], "status": doc["status"],
            "links": [{"rel": "self", "href": f"{root}/{doc['id'].replace('v2.0', 'v2')}/{tail}"}],
            "media-types": [{"base": "application/json", "type": "application/vnd.openstack.compute+json;version="
                             + ("2" if doc["id"] == "v2.0" else "2.1")}],
        })
    return {"choices": entries}


async def show(request: web.Request) -> web.StreamResponse:
    """Every version document: the operation of the route picks the view."""
    return respond(request)


async def choices(request: web.Request) -> web.StreamResponse:
    return respond(request, request.match_info.get("tail", ""))


async def root_versions(request: web.Request) -> web.Response:
    """`/` of the daemon, outside every face: the compute versions, as DevStack's layout answers there."""
    return json_response(versions_body(f"{base_url(request)}/compute", MICROVERSIONS))


v20_document, with_details = _v20, _with_details  # for the vendor dialects' own version documents (api/k5_faces.py)
VIEWS = {"#101": versions_view, "#102": v2_view, "#103": v21_view, "compute:choices": choices_view}
STATUSES = {"compute:choices": 300}
