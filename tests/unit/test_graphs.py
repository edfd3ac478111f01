"""Cyclades' stats graphs (#1903): the four PNGs decoded with Pillow and read by their pixels, the URL token, the cache."""
from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass

import pytest
from PIL import Image

from nodecompute.compute.graph_cache import GraphCache
from nodecompute.compute.graph_tokens import check_token, graph_token, new_secret, token_server
from nodecompute.compute.graphs import (
    BAR_COLOUR, BAR_SIZE, CPU_BAR_WIDTH, GRAPHS, NET_BAR_WIDTH, NET_IN_COLOUR, NET_OUT_COLOUR, PLOT_HEIGHT,
    PLOT_TOP, STALE_AFTER, TS_SIZE, render_graph,
)
from nodecompute.compute.stats_sampler import StatsPoint, StatsSampler

NOW = 1_800_000_000.0
GB = 10 ** 9
SERVER = "0f6a2c1e-3d4b-4c5a-9e8f-7a6b5c4d3e2f"
OTHER_SERVER = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"


def decode(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def rgb_pixels(png: bytes) -> tuple[int, int, list[tuple[int, int, int]]]:
    image = decode(png).convert("RGB")
    raw = image.tobytes()
    return image.width, image.height, [tuple(raw[i:i + 3]) for i in range(0, len(raw), 3)]


def count(png: bytes, colour: tuple[int, int, int]) -> int:
    return rgb_pixels(png)[2].count(colour)


def columns_with(png: bytes, colour: tuple[int, int, int]) -> list[int]:
    width, _, pixels = rgb_pixels(png)
    return sorted({i % width for i, pixel in enumerate(pixels) if pixel == colour})


def rows_with(png: bytes, colour: tuple[int, int, int]) -> list[int]:
    width, _, pixels = rgb_pixels(png)
    return sorted({i // width for i, pixel in enumerate(pixels) if pixel == colour})


def point(at: float, cpu: float = 0.0, rx: float = 0.0, tx: float = 0.0) -> StatsPoint:
    return StatsPoint(at=at, cpu_percent=cpu, rx_bytes_per_s=rx, tx_bytes_per_s=tx)


def hour_of_points(count_: int = 60) -> list[StatsPoint]:
    return [point(NOW - 60 * i, cpu=i % 101, rx=100.0 * i, tx=50.0 * i) for i in reversed(range(count_))]


@pytest.mark.parametrize("graph", GRAPHS)
@pytest.mark.parametrize("series", ["hour", "empty"])
def test_each_graph_is_a_png_pillow_decodes_with_its_size_and_mode(graph, series):
    points = hour_of_points() if series == "hour" else []
    image = decode(render_graph(graph, points, now=NOW))
    assert image.format == "PNG"
    assert image.mode == "P"
    assert image.size == (BAR_SIZE if graph.endswith("-bar") else TS_SIZE)


def test_an_unknown_graph_name_is_refused():
    with pytest.raises(ValueError):
        render_graph("disk-bar", [], now=NOW)


@pytest.mark.parametrize("percent, rows", [(0, 0), (50, 50), (100, 100), (12.5, 12)])
def test_cpu_bar_height_in_bar_colour_pixels_is_proportional_to_the_load(percent, rows):
    png = render_graph("cpu-bar", [point(NOW - 10, cpu=percent)], now=NOW)
    assert count(png, BAR_COLOUR) == rows * CPU_BAR_WIDTH
    if rows:  # one solid block standing on the plot's bottom
        assert rows_with(png, BAR_COLOUR) == list(range(PLOT_TOP + PLOT_HEIGHT - rows, PLOT_TOP + PLOT_HEIGHT))
        assert len(columns_with(png, BAR_COLOUR)) == CPU_BAR_WIDTH


def test_cpu_bar_is_empty_without_a_recent_point():
    old = [point(NOW - STALE_AFTER - 1, cpu=90)]
    assert count(render_graph("cpu-bar", old, now=NOW), BAR_COLOUR) == 0
    assert count(render_graph("cpu-bar", old, now=NOW - 2), BAR_COLOUR) == 90 * CPU_BAR_WIDTH


def test_cpu_bar_shows_the_newest_point_and_clamps_out_of_range_values():
    png = render_graph("cpu-bar", [point(NOW - 70, cpu=80), point(NOW - 10, cpu=30)], now=NOW)
    assert count(png, BAR_COLOUR) == 30 * CPU_BAR_WIDTH
    assert count(render_graph("cpu-bar", [point(NOW, cpu=250)], now=NOW), BAR_COLOUR) == 100 * CPU_BAR_WIDTH
    assert count(render_graph("cpu-bar", [point(NOW, cpu=float("nan"))], now=NOW), BAR_COLOUR) == 0


def test_net_bar_heights_follow_in_and_out_on_one_scale():
    # 1250 B/s = 10K bit/s: the scale is 10K, so IN fills the plot and OUT (5K bit/s) half of it.
    png = render_graph("net-bar", [point(NOW, rx=1250, tx=625)], now=NOW)
    assert count(png, NET_IN_COLOUR) == PLOT_HEIGHT * NET_BAR_WIDTH
    assert count(png, NET_OUT_COLOUR) == PLOT_HEIGHT // 2 * NET_BAR_WIDTH
    idle = render_graph("net-bar", [point(NOW, rx=0, tx=0)], now=NOW)
    assert count(idle, NET_IN_COLOUR) == count(idle, NET_OUT_COLOUR) == 0


@dataclass(frozen=True)
class Reading:
    cpu_time_ns: int
    vcpus: int
    rx_bytes: int
    tx_bytes: int


def cpu_bar_rows_after(load: float) -> int:
    """Two samples a minute apart of one vCPU busy `load` of the time, through the sampler, to the bar."""
    sampler = StatsSampler(lambda: None, clock=lambda: NOW, interval=60, window=3600)
    sampler.record(NOW - 60, {SERVER: Reading(0, 1, 0, 0)})
    sampler.record(NOW, {SERVER: Reading(int(load * 60 * GB), 1, 0, 0)})
    return count(render_graph("cpu-bar", sampler.series(SERVER), now=NOW), BAR_COLOUR) // CPU_BAR_WIDTH


def test_twice_the_cpu_load_gives_a_bar_at_least_twice_as_tall():
    idle, busy = cpu_bar_rows_after(0.2), cpu_bar_rows_after(0.4)
    assert idle == 20
    assert busy >= 2 * idle


def test_cpu_time_series_plots_one_column_per_point_at_its_height():
    points = hour_of_points(61)  # every minute of the hour, both ends included
    png = render_graph("cpu-ts", points, now=NOW)
    columns = columns_with(png, BAR_COLOUR)
    assert len(columns) == len(points)
    assert columns == sorted(columns) and columns[-1] - columns[0] == 240  # 15 s a column over the hour
    width, _, pixels = rgb_pixels(png)
    heights = [sum(1 for i in range(x, len(pixels), width) if pixels[i] == BAR_COLOUR) for x in columns]
    assert heights == [max(1, round(p.cpu_percent)) for p in points]  # a 0 still shows, one pixel tall


def test_time_series_leaves_out_points_outside_the_window():
    points = [point(NOW - 4000, cpu=50), point(NOW - 3000, cpu=50), point(NOW - 60, cpu=50), point(NOW + 30, cpu=50)]
    assert len(columns_with(render_graph("cpu-ts", points, now=NOW), BAR_COLOUR)) == 2
    assert count(render_graph("cpu-ts", [], now=NOW), BAR_COLOUR) == 0


def test_net_time_series_plots_in_up_and_out_down_one_column_each_per_point():
    points = hour_of_points(30)
    png = render_graph("net-ts", points, now=NOW)
    assert len(columns_with(png, NET_IN_COLOUR)) == len(points)
    assert len(columns_with(png, NET_OUT_COLOUR)) == len(points)
    middle = PLOT_TOP + PLOT_HEIGHT // 2
    assert max(rows_with(png, NET_IN_COLOUR)) < middle <= min(rows_with(png, NET_OUT_COLOUR))


async def test_rendering_in_worker_threads_gives_the_same_bytes():
    points = hour_of_points()
    in_threads = await asyncio.gather(*(asyncio.to_thread(render_graph, graph, points, now=NOW) for graph in GRAPHS))
    assert in_threads == [render_graph(graph, points, now=NOW) for graph in GRAPHS]


def test_graph_token_is_accepted_for_its_server_and_refused_otherwise():
    secret, other_secret = new_secret(), new_secret()
    token = graph_token(secret, SERVER)
    assert token.startswith(SERVER + ".")
    assert token == graph_token(secret, SERVER)  # stable: the URLs do not change between stats calls
    assert token_server(secret, token) == SERVER
    assert check_token(secret, SERVER, token)
    mac = token.rpartition(".")[2]
    flipped = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    refused = [
        graph_token(secret, OTHER_SERVER),  # another server's token
        graph_token(other_secret, SERVER),  # another daemon's secret
        f"{SERVER}.{flipped}", f"{SERVER}.{mac[:-1]}", f"{SERVER}.{mac}x", f"{OTHER_SERVER}.{mac}",
        SERVER, mac, f".{mac}", "", None, "x" * 5000,
    ]
    for bad in refused:
        assert not check_token(secret, SERVER, bad), bad
    assert token_server(secret, graph_token(other_secret, SERVER)) is None
    assert token_server(secret, f"{SERVER}.{flipped}") is None
    assert token_server(secret, "no-dot-at-all") is None


def test_graph_token_needs_a_long_secret_and_a_plain_uuid():
    with pytest.raises(ValueError):
        graph_token(b"short", SERVER)
    with pytest.raises(ValueError):
        graph_token(new_secret(), "a.b")
    assert len(new_secret()) == 32 and new_secret() != new_secret()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def cached_render(cache: GraphCache, renders: list[float], clock: Clock, server: str = SERVER) -> bytes:
    """What the route does: the cached PNG, else a new rendering (here: distinct bytes per call) put in the cache."""
    png = cache.get(server, "cpu-bar")
    if png is None:
        renders.append(clock.now)
        png = render_graph("cpu-bar", [point(clock.now, cpu=len(renders))], now=clock.now)
        cache.put(server, "cpu-bar", png)
    return png


def test_cache_returns_the_same_bytes_within_60_s_and_renders_again_after():
    clock, renders = Clock(NOW), []
    cache = GraphCache(clock=clock)
    first = cached_render(cache, renders, clock)
    clock.now = NOW + 59.9
    assert cached_render(cache, renders, clock) is first
    assert renders == [NOW]
    clock.now = NOW + 60
    second = cached_render(cache, renders, clock)
    assert second != first
    assert renders == [NOW, NOW + 60]
    assert cache.get(SERVER, "cpu-ts") is None  # per graph


def test_cache_keeps_servers_apart_drops_expired_entries_and_forgets_a_server():
    clock = Clock(NOW)
    cache = GraphCache(clock=clock, ttl=60)
    cache.put(SERVER, "cpu-bar", b"a")
    cache.put(OTHER_SERVER, "cpu-bar", b"b")
    assert (cache.get(SERVER, "cpu-bar"), cache.get(OTHER_SERVER, "cpu-bar")) == (b"a", b"b")
    cache.forget(SERVER)
    assert cache.get(SERVER, "cpu-bar") is None and len(cache) == 1
    clock.now = NOW + 61
    cache.put(SERVER, "net-ts", b"c")  # every put drops what expired
    assert len(cache) == 1
    clock.now = NOW  # a clock going back does not make an entry live longer
    assert cache.get(SERVER, "net-ts") is None
    with pytest.raises(ValueError):
        GraphCache(clock=clock, ttl=0)
