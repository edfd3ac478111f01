"""The stats graphs' PNG writer: what it draws is what Pillow reads back, pixel for pixel."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from nodecompute.compute.png_raster import ADVANCE, GLYPH_HEIGHT, GLYPH_WIDTH, GLYPHS, Raster, text_width

PALETTE = ((255, 255, 255), (255, 0, 0), (0, 0, 255))
WHITE, RED, BLUE = PALETTE


def decoded(raster: Raster) -> Image.Image:
    image = Image.open(io.BytesIO(raster.to_png()))
    image.load()
    return image


def test_rectangles_and_lines_read_back_exactly_and_clip_to_the_image():
    raster = Raster(7, 5, PALETTE)
    raster.fill(1, 1, 3, 4, 1)  # columns 1-2, rows 1-3
    raster.vline(6, -3, 99, 2)  # clipped to rows 0-4
    raster.fill(-5, -5, 0, 9, 1)  # entirely outside: nothing
    image = decoded(raster)
    assert (image.format, image.mode, image.size) == ("PNG", "P", (7, 5))
    rgb = image.convert("RGB")
    for y in range(5):
        for x in range(7):
            expected = BLUE if x == 6 else RED if 1 <= x <= 2 and 1 <= y <= 3 else WHITE
            assert rgb.getpixel((x, y)) == expected, (x, y)


def test_outline_draws_the_frame_only():
    raster = Raster(5, 4, PALETTE)
    raster.outline(0, 0, 4, 3, 2)
    rgb = decoded(raster).convert("RGB")
    inside = [(x, y) for x in range(1, 4) for y in range(1, 3)]
    assert all(rgb.getpixel(xy) == WHITE for xy in inside)
    assert sum(1 for x in range(5) for y in range(4) if rgb.getpixel((x, y)) == BLUE) == 5 * 4 - len(inside)


def test_text_draws_each_glyph_in_its_cell_and_refuses_unknown_characters():
    text = "cpu 42.5%"
    raster = Raster(text_width(text) + 2, GLYPH_HEIGHT + 2, PALETTE)
    raster.text(1, 1, text, 1)
    rgb = decoded(raster).convert("RGB")
    for i, char in enumerate(text.upper()):
        ink = {(x - 1 - i * ADVANCE, y - 1) for x in range(rgb.width) for y in range(rgb.height)
               if rgb.getpixel((x, y)) == RED and i * ADVANCE <= x - 1 < (i + 1) * ADVANCE}
        assert ink == set(GLYPHS[char]), char
    with pytest.raises(ValueError):
        raster.text(0, 0, "é", 1)


def test_the_font_has_distinct_glyphs_inside_five_by_seven():
    assert len({glyph for char, glyph in GLYPHS.items()}) == len(GLYPHS)
    for char, glyph in GLYPHS.items():
        assert all(0 <= dx < GLYPH_WIDTH and 0 <= dy < GLYPH_HEIGHT for dx, dy in glyph), char
    assert set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ .%/:-+") == set(GLYPHS)


def test_bad_palettes_and_colours_are_refused():
    with pytest.raises(ValueError):
        Raster(2, 2, [])
    with pytest.raises(ValueError):
        Raster(0, 2, PALETTE)
    with pytest.raises(ValueError):
        Raster(2, 2, PALETTE).fill(0, 0, 1, 1, 3)
