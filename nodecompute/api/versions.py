"""Compute version documents (#101-#103) and the 300 choices answer for other unversioned paths."""
from __future__ import annotations

from aiohttp import web

from nodecompute.api.auth import MAX_VERSION, MIN_VERSION, version_text
from nodecompute.api.faults import json_response
from nodecompute.api.urls import base_url

V21_UPDATED = "2013-07-23T11:33:21Z"
V20_UPDATED = "2011-01-21T11:33:21Z"


def _v20(root: str) -> dict:
    return {
        "id": "v2.0", "status": "DEPRECATED", "version": "", "min_version": "", "updated": V20_UPDATED,
        "links": [{"rel": "self", "href": f"{root}/v2/"}],
    }


def _v21(root: str) -> dict:
    return {
        "id": "v2.1", "status": "CURRENT", "version": version_text(MAX_VERSION),
        "min_version": version_text(MIN_VERSION), "updated": V21_UPDATED,
        "links": [{"rel": "self", "href": f"{root}/v2.1/"}],
    }


def _with_details(doc: dict, media_version: str) -> dict:
    doc = dict(doc)
    doc["links"] = doc["links"] + [{"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"}]
    doc["media-types"] = [{
        "base": "application/json", "type": f"application/vnd.openstack.compute+json;version={media_version}",
    }]
    return doc


async def list_versions(request: web.Request) -> web.Response:
    root = f"{base_url(request)}/compute"
    return json_response({"versions": [_v20(root), _v21(root)]})


async def show_v2(request: web.Request) -> web.Response:
    root = f"{base_url(request)}/compute"
    return json_response({"version": _with_details(_v20(root), "2")})


async def show_v21(request: web.Request) -> web.Response:
    root = f"{base_url(request)}/compute"
    return json_response({"version": _with_details(_v21(root), "2.1")})


async def choices(request: web.Request) -> web.Response:
    """Any other unversioned compute path: 300 with the versions that could serve it."""
    root = f"{base_url(request)}/compute"
    tail = request.match_info.get("tail", "")
    entries = []
    for doc in (_v20(root), _v21(root)):
        entries.append({
            "id": doc["id"], "status": doc["status"],
            "links": [{"rel": "self", "href": f"{root}/{doc['id'].replace('v2.0', 'v2')}/{tail}"}],
            "media-types": [{"base": "application/json", "type": "application/vnd.openstack.compute+json;version="
                             + ("2" if doc["id"] == "v2.0" else "2.1")}],
        })
    return json_response({"choices": entries}, status=300)
