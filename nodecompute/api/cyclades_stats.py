"""Cyclades' server stats (#1902, #1903; dialects.md D49): `GET /servers/<serial>/stats` answers `serverRef` (an
integer), `refresh` (60) and four graph URLs, `/cyclades/stats/<token>/{cpu-bar,cpu-ts,net-bar,net-ts}.png`. An
`<img>` sends no token, so the URL carries the server's graph token (compute/graph_tokens.py); a token the daemon
did not make, or a graph it does not draw, is 404. The graphs come from compute/server_stats.py, whose sampler the
face starts with the daemon (`on_mount`) and stops at shutdown; a deleted server is 400 and a suspended one 403
before the handler (api/cyclades_servers.py).
"""
from __future__ import annotations

from aiohttp import web

from nodecompute.api import auth
from nodecompute.api.keys import config_key, servers_key
from nodecompute.api.respond import respond
from nodecompute.api.routing import Route
from nodecompute.compute import server_stats
from nodecompute.compute.graphs import GRAPHS
from nodecompute.domain.errors import NotFound

stats_key = web.AppKey("cyclades_stats", dict)  # {"stats": ServerStats} while the daemon runs with servers
URL_KEYS = {"cpuBar": "cpu-bar", "cpuTimeSeries": "cpu-ts", "netBar": "net-bar", "netTimeSeries": "net-ts"}
GRAPH_ROUTE = "/stats/{token}/{graph}.png"


def on_mount(root: web.Application, sub: web.Application) -> None:
    holder: dict[str, server_stats.ServerStats] = {}
    sub[stats_key] = holder

    async def start(app: web.Application) -> None:
        if servers_key in app:
            config = app[config_key]
            holder["stats"] = server_stats.for_hypervisor(app[servers_key].guests.hv, config.data_dir,
                                                          config.compute.stats_interval)
            holder["stats"].start()

    async def stop(app: web.Application) -> None:
        stats = holder.pop("stats", None)
        if stats is not None:
            await stats.close()

    root.on_startup.append(start)
    root.on_shutdown.append(stop)


def _stats(request: web.Request) -> server_stats.ServerStats:
    stats = request.app[stats_key].get("stats")
    if stats is None:
        raise NotFound("Server stats are not available")
    return stats


async def show_stats(request: web.Request) -> web.StreamResponse:
    server = request.config_dict[servers_key].get(auth.context(request), request.match_info["server_id"])
    return respond(request, (server.serial, _stats(request).token(server.uuid)))


async def show_graph(request: web.Request) -> web.StreamResponse:
    stats = _stats(request)
    server_uuid = stats.server_of(request.match_info["token"])
    graph = request.match_info["graph"]
    if server_uuid is None or graph not in GRAPHS:
        raise NotFound()
    return web.Response(body=await stats.graph(server_uuid, graph), content_type="image/png",
                        headers={"Cache-Control": f"max-age={int(stats.sampler.interval)}"})


def _view(out, result: tuple[int, str]) -> dict:
    serial, token = result
    base = f"{out.links.base}{out.dialect.prefix}/stats/{token}"
    refresh = out.request.config_dict[config_key].compute.stats_interval
    return {"stats": {"serverRef": serial, "refresh": refresh,
                      **{key: f"{base}/{graph}.png" for key, graph in URL_KEYS.items()}}}


ROUTES = (Route("compute", "cyclades:stats", "GET", "/servers/{server_id}/stats", show_stats),
          Route("compute", "cyclades:graph", "GET", GRAPH_ROUTE, show_graph, token=False, versioned=False))
VIEWS = {"cyclades:stats": _view}
