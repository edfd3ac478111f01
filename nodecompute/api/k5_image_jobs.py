"""K5's image import and export (#2401-#2407) on the K5 face: `/k5/v1/imageimport...` and `/k5/v1/imageexport...`
over compute/image_job_runner.py (the jobs, their checks, K5's codes). Every refusal answers K5's body
`{"error_code", "message"}` (export: `error_message`, image_job_errors.py), never a Nova fault; a token is
required as on every K5 route (401 is the face's `unauthorized` fault).

The import's credentials (`user_name`, Base64 `password`, `domain_name`) must be the caller's own user: checked
at request time through the identity service (a wrong one: 400 40010), then kept only in the job record."""
from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from aiohttp import web

from nodecompute.api import auth
from nodecompute.api.keys import identity_key
from nodecompute.api.routing import Handler, Route
from nodecompute.compute.image_job_errors import ExportCode, ImportCode, K5JobError
from nodecompute.compute.image_job_runner import ImageJobs
from nodecompute.compute.image_jobs import ImportRequest
from nodecompute.domain.errors import ComputeError
from nodecompute.domain.models import AuthContext

image_jobs_key: web.AppKey[ImageJobs] = web.AppKey("k5_image_jobs", ImageJobs)


def _answer(body: dict[str, Any] | None, status: int) -> web.Response:
    if body is None:
        return web.Response(status=status)
    return web.json_response(body, status=status)


def _k5_errors(handler: Handler) -> Handler:
    async def k5_handler(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except K5JobError as refused:
            return _answer(refused.body(), refused.status)
    return k5_handler


async def _import_body(request: web.Request) -> object:
    """The JSON body; not JSON: nothing (the first required parameter is then missing: 40001)."""
    try:
        return json.loads(await request.read() or b"null")
    except (ValueError, UnicodeDecodeError):
        return None


def _jobs(request: web.Request) -> ImageJobs:
    return request.config_dict[image_jobs_key]


def _writer(request: web.Request, code: ImportCode | ExportCode) -> AuthContext:
    """A member (or admin) of the token's project, as every write; a reader gets K5's 403 40301."""
    ctx = auth.context(request)
    if not ctx.can_write:
        raise K5JobError(code)
    return ctx


def _credentials_of(request: web.Request):
    ctx = auth.context(request)

    async def check(asked: ImportRequest) -> bool:
        if asked.user_name != ctx.user_name:
            return False
        try:
            password = base64.b64decode(asked.password, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        try:
            _token, checked = await request.config_dict[identity_key].authenticate_password(
                asked.user_name, password, ctx.project_id)
        except ComputeError:
            return False
        return checked.user_id == ctx.user_id
    return check


async def submit_import(request: web.Request) -> web.StreamResponse:
    ctx = _writer(request, ImportCode.FORBIDDEN)
    body = await _import_body(request)
    job = await _jobs(request).submit_import(ctx.project_id, body, credentials_ok=_credentials_of(request))
    return _answer({"import_id": job.id}, 201)


async def import_status(request: web.Request) -> web.StreamResponse:
    status = await _jobs(request).import_status(auth.context(request).project_id, request.match_info["job_id"])
    return _answer(status, 200)


async def list_imports(request: web.Request) -> web.StreamResponse:
    listed = await _jobs(request).list_imports(auth.context(request).project_id, request.query.get("start"),
                                               request.query.get("limit"))
    return _answer(listed, 200)


async def submit_export(request: web.Request) -> web.StreamResponse:
    ctx = _writer(request, ExportCode.FORBIDDEN)
    job = await _jobs(request).submit_export(ctx.project_id, await request.read())
    return _answer({"export_id": job.id}, 202)


async def export_status(request: web.Request) -> web.StreamResponse:
    status = await _jobs(request).export_status(auth.context(request).project_id, request.match_info["job_id"])
    return _answer(status, 200)


async def list_exports(request: web.Request) -> web.StreamResponse:
    listed = await _jobs(request).list_exports(auth.context(request).project_id, request.query.get("start"),
                                               request.query.get("limit"))
    return _answer(listed, 200)


async def cancel_export(request: web.Request) -> web.StreamResponse:
    project_id = auth.context(request).project_id
    await _jobs(request).export_status(project_id, request.match_info["job_id"])  # 404 40401 first, as a read
    _writer(request, ExportCode.FORBIDDEN)
    await _jobs(request).cancel_export(project_id, request.match_info["job_id"])
    return _answer(None, 200)


def routes() -> tuple[Route, ...]:
    """The K5 face's rows (outside its /v2 root, as /v1.1's volume extension: not versioned)."""
    rows = (("#2401", "POST", "/v1/imageimport", submit_import),
            ("#2402", "GET", "/v1/imageimport/{job_id}/status", import_status),
            ("#2403", "GET", "/v1/imageimport", list_imports),
            ("#2404", "POST", "/v1/imageexport", submit_export),
            ("#2405", "GET", "/v1/imageexport/{job_id}/status", export_status),
            ("#2406", "GET", "/v1/imageexport", list_exports),
            ("#2407", "POST", "/v1/imageexport/{job_id}/cancel", cancel_export))
    return tuple(Route(face="k5", op=op, method=method, path=path, handler=_k5_errors(handler), versioned=False)
                 for op, method, path, handler in rows)
