"""The four graphs behind Cyclades' stats URLs (#1903) as PNG bytes, drawn from the stats sampler's series.

Pure functions of a server's points (`stats_sampler.StatsPoint`, oldest first) and the time `now`: no I/O, no
shared state, so the daemon calls `render_graph` in a worker thread, off the event loop. The names are Synnefo's
(`cpu-bar`, `cpu-ts`, `net-bar`, `net-ts`, the last segment of each stats URL before `.png`).

- `cpu-bar`: the current CPU load, 0-100 % of the server's vCPUs, as one vertical bar in a 100-pixel-tall plot
  (one pixel per %), with the value under it.
- `net-bar`: the current network traffic in bit/s, IN (received by the guest) and OUT (sent by it) as two bars,
  on a 1-2-5 scale just above the larger of the two (at least 1K bit/s).
- `cpu-ts`: the CPU load over the window (the last hour) as one 1-pixel needle per point, placed by its time
  (15 s a column for an hour) on a 0-100 % scale.
- `net-ts`: the traffic over the window, IN as needles up from the middle line, OUT as needles down from it, on
  one 1-2-5 scale for both.

"Current" is the newest point when it is at most `stale_after` seconds old; else the bars are empty and read "--"
(a stopped server shows no load, not its last one). A time-series point is at least one pixel tall, so a 0 still
shows (as a dot on the baseline) and a gap means no sample. The series colours are fixed (tests count them) and
appear nowhere but in the bars and needles: text, axes and grid use other colours.

Synnefo draws its bars horizontally, 210x10, green/amber/red by load; here they are vertical and of one colour,
so a bar's height in bar-colour pixels reads the value (the issue's proof: the CPU bar twice as tall).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from nodecompute.compute.png_raster import GLYPH_HEIGHT, Raster, text_width
from nodecompute.compute.stats_sampler import DEFAULT_INTERVAL, DEFAULT_WINDOW, StatsPoint

GRAPHS = ("cpu-bar", "cpu-ts", "net-bar", "net-ts")
STALE_AFTER = 3 * DEFAULT_INTERVAL

WHITE = (0xFF, 0xFF, 0xFF)
PLOT_BACKGROUND = (0xEA, 0xEA, 0xEA)  # Synnefo's bar background
FRAME = (0x5C, 0xA1, 0xC0)  # Synnefo's bar border
TEXT = (0x33, 0x33, 0x33)
GRID = (0xC8, 0xC8, 0xC8)
CPU_COLOUR = (0x00, 0xA1, 0x00)  # the CPU bar and needles (Synnefo's green)
NET_OUT_COLOUR = (0x00, 0xA1, 0x00)  # sent by the guest (Synnefo's TX green)
NET_IN_COLOUR = (0x00, 0x00, 0xA1)  # received by the guest (Synnefo's RX blue)
BAR_COLOUR = CPU_COLOUR

_PALETTE = (WHITE, PLOT_BACKGROUND, FRAME, TEXT, GRID, CPU_COLOUR, NET_IN_COLOUR)
_BG, _PLOT, _FRAME, _TEXT, _GRID, _CPU, _IN = range(len(_PALETTE))
_OUT = _CPU  # the same green: the two never share an image

# Layout, in pixels. The plot's inner area is PLOT_LEFT..PLOT_LEFT+width-1 by PLOT_TOP..PLOT_TOP+PLOT_HEIGHT-1,
# framed one pixel outside.
PLOT_LEFT = 30
PLOT_TOP = 16
PLOT_HEIGHT = 100
BAR_SIZE = (120, 140)
BAR_PLOT_WIDTH = 84
CPU_BAR_WIDTH = 40
NET_BAR_WIDTH = 30
TS_SIZE = (280, 132)
TS_PLOT_WIDTH = 241  # columns 0..240: 15 s each over an hour
TS_MINUTE_TICKS = (60, 45, 30, 15, 0)


@dataclass(frozen=True)
class _Bar:
    fraction: float  # 0..1 of the plot's height
    colour: int
    centre: int  # column of the plot, from its left edge
    width: int
    labels: tuple[str, ...]  # lines under the bar


def render_graph(graph: str, points: Sequence[StatsPoint], *, now: float, window: float = DEFAULT_WINDOW,
                 stale_after: float = STALE_AFTER) -> bytes:
    """The PNG of `graph` (one of GRAPHS) for a server's points; ValueError for another name."""
    if graph in ("cpu-bar", "net-bar"):
        return _BAR_RENDERERS[graph](current_point(points, now=now, stale_after=stale_after))
    if graph in ("cpu-ts", "net-ts"):
        return _SERIES_RENDERERS[graph](points, now, window)
    raise ValueError(f"unknown graph {graph!r}")


def current_point(points: Sequence[StatsPoint], *, now: float, stale_after: float = STALE_AFTER) -> StatsPoint | None:
    """The newest point if it is at most `stale_after` seconds old."""
    if points and now - points[-1].at <= stale_after:
        return points[-1]
    return None


def render_cpu_bar(current: StatsPoint | None) -> bytes:
    percent = _clamp(current.cpu_percent, 0.0, 100.0) if current else 0.0
    label = f"{percent:.1f}%" if current else "--"
    bar = _Bar(percent / 100.0, _CPU, BAR_PLOT_WIDTH // 2, CPU_BAR_WIDTH, (label,))
    return _bar_chart("CPU LOAD %", ("100", "50", "0"), [bar])


def render_net_bar(current: StatsPoint | None) -> bytes:
    bits_in = 8 * current.rx_bytes_per_s if current else 0.0
    bits_out = 8 * current.tx_bytes_per_s if current else 0.0
    scale = nice_scale(max(bits_in, bits_out))
    half = BAR_PLOT_WIDTH // 2
    bars = [_Bar(bits / scale, colour, centre, NET_BAR_WIDTH, (name, si_units(bits) if current else "--"))
            for bits, colour, centre, name in ((bits_in, _IN, half // 2, "IN"),
                                               (bits_out, _OUT, half + half // 2, "OUT"))]
    return _bar_chart("NETWORK BIT/S", (si_units(scale), si_units(scale / 2), "0"), bars)


def render_cpu_ts(points: Sequence[StatsPoint], now: float, window: float = DEFAULT_WINDOW) -> bytes:
    raster, bottom = _series_frame("CPU LOAD % - LAST HOUR", ("100", "50", "0"))
    for column, point in _placed(points, now, window):
        height = _needle(point.cpu_percent / 100.0, PLOT_HEIGHT)
        raster.fill(column, bottom - height, column + 1, bottom, _CPU)
    return raster.to_png()


def render_net_ts(points: Sequence[StatsPoint], now: float, window: float = DEFAULT_WINDOW) -> bytes:
    placed = list(_placed(points, now, window))
    scale = nice_scale(max((8 * max(p.rx_bytes_per_s, p.tx_bytes_per_s) for _, p in placed), default=0.0))
    top = si_units(scale)
    raster, bottom = _series_frame("NETWORK BIT/S - LAST HOUR", (top, "0", top))
    middle = PLOT_TOP + PLOT_HEIGHT // 2
    _label_left(raster, middle - 13, "IN")
    _label_left(raster, middle + 7, "OUT")
    for column, point in placed:
        up = _needle(8 * point.rx_bytes_per_s / scale, PLOT_HEIGHT // 2)
        down = _needle(8 * point.tx_bytes_per_s / scale, PLOT_HEIGHT // 2)
        raster.fill(column, middle - up, column + 1, middle, _IN)
        raster.fill(column, middle, column + 1, middle + down, _OUT)
    return raster.to_png()


def nice_scale(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten that is at least `value`, and at least 1000 (1K)."""
    if not math.isfinite(value) or value <= 1000:
        return 1000.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def si_units(value: float) -> str:
    """A short label: 850, 1.2K, 12K, 120K, 1M, 2.5M ... (at most four characters below 1000T)."""
    value = max(0.0, value) if math.isfinite(value) else 0.0
    if round(value) < 1000:
        return f"{value:.0f}"
    for suffix in ("K", "M", "G", "T"):
        value /= 1000
        text = f"{value:.1f}".removesuffix(".0") if value < 9.95 else f"{value:.0f}"
        if float(text) < 1000 or suffix == "T":
            return text + suffix
    raise AssertionError("unreachable")


def _bar_chart(title: str, scale_labels: tuple[str, str, str], bars: list[_Bar]) -> bytes:
    raster = Raster(*BAR_SIZE, _PALETTE, _BG)
    bottom = _plot_frame(raster, title, BAR_PLOT_WIDTH, scale_labels)
    for bar in bars:
        x0 = PLOT_LEFT + bar.centre - bar.width // 2
        height = round(_clamp(bar.fraction, 0.0, 1.0) * PLOT_HEIGHT)
        raster.fill(x0, bottom - height, x0 + bar.width, bottom, bar.colour)
        for line, text in enumerate(bar.labels):
            x = PLOT_LEFT + bar.centre - text_width(text) // 2
            raster.text(x, bottom + 4 + line * (GLYPH_HEIGHT + 2), text, _TEXT)
    return raster.to_png()


def _series_frame(title: str, scale_labels: tuple[str, str, str]) -> tuple[Raster, int]:
    raster = Raster(*TS_SIZE, _PALETTE, _BG)
    bottom = _plot_frame(raster, title, TS_PLOT_WIDTH, scale_labels)
    for minutes in TS_MINUTE_TICKS:
        column = PLOT_LEFT + round((1 - minutes / 60) * (TS_PLOT_WIDTH - 1))
        raster.vline(column, PLOT_TOP, bottom - 1, _GRID)
        label = f"-{minutes}" if minutes else "NOW"
        raster.text(column - text_width(label) // 2, bottom + 4, label, _TEXT)
    return raster, bottom


def _plot_frame(raster: Raster, title: str, width: int, scale_labels: tuple[str, str, str]) -> int:
    """Title, plot background, frame, quarter grid lines and the three scale labels; returns the plot's bottom
    (the first row below it)."""
    bottom = PLOT_TOP + PLOT_HEIGHT
    raster.text(4, 4, title, _TEXT)
    raster.fill(PLOT_LEFT, PLOT_TOP, PLOT_LEFT + width, bottom, _PLOT)
    for quarter in (1, 2, 3):
        raster.hline(PLOT_LEFT, PLOT_LEFT + width - 1, bottom - quarter * PLOT_HEIGHT // 4, _GRID)
    raster.outline(PLOT_LEFT - 1, PLOT_TOP - 1, PLOT_LEFT + width, bottom, _FRAME)
    top, middle, low = scale_labels
    _label_left(raster, PLOT_TOP - GLYPH_HEIGHT // 2, top)
    _label_left(raster, PLOT_TOP + PLOT_HEIGHT // 2 - GLYPH_HEIGHT // 2, middle)
    _label_left(raster, bottom - 1 - GLYPH_HEIGHT // 2, low)
    return bottom


def _label_left(raster: Raster, y: int, text: str) -> None:
    raster.text(PLOT_LEFT - 4 - text_width(text), y, text, _TEXT)


def _placed(points: Sequence[StatsPoint], now: float, window: float):
    """(image column, point) for the points within [now - window, now]."""
    start = now - window
    for point in points:
        if start <= point.at <= now:
            yield PLOT_LEFT + round((point.at - start) / window * (TS_PLOT_WIDTH - 1)), point


def _needle(fraction: float, full: int) -> int:
    return max(1, round(_clamp(fraction, 0.0, 1.0) * full))


def _clamp(value: float, low: float, high: float) -> float:
    return low if not value >= low else min(value, high)  # NaN -> low


_BAR_RENDERERS: dict[str, Callable[[StatsPoint | None], bytes]] = {
    "cpu-bar": render_cpu_bar, "net-bar": render_net_bar}
_SERIES_RENDERERS: dict[str, Callable[[Sequence[StatsPoint], float, float], bytes]] = {
    "cpu-ts": render_cpu_ts, "net-ts": render_net_ts}
