"""A tiny palette raster and PNG writer for the stats graphs: rectangles, lines and 5x7 bitmap text. Pure: no I/O.

A `Raster` is one byte per pixel, an index into its palette (at most 256 RGB colours); `to_png()` encodes it as an
8-bit palette PNG (colour type 3, filter 0 on every row, zlib) that any browser and Pillow decode. Coordinates
start at the top left; rectangles are half-open ([x0, x1) x [y0, y1)) and clipped to the image, so callers never
write outside it.

The font covers what the graphs print: digits, A-Z (lower case is drawn as upper case), space and `.%/:-+`.
Each glyph is 5 columns by 7 rows; text advances 6 pixels a character.
"""
from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

GLYPH_WIDTH = 5
GLYPH_HEIGHT = 7
ADVANCE = GLYPH_WIDTH + 1

# Seven rows of five pixels per glyph, top row first ("1" = ink).
_GLYPH_ROWS = {
    "0": "01110 10001 10011 10101 11001 10001 01110",
    "1": "00100 01100 00100 00100 00100 00100 01110",
    "2": "01110 10001 00001 00010 00100 01000 11111",
    "3": "11111 00010 00100 00010 00001 10001 01110",
    "4": "00010 00110 01010 10010 11111 00010 00010",
    "5": "11111 10000 11110 00001 00001 10001 01110",
    "6": "00110 01000 10000 11110 10001 10001 01110",
    "7": "11111 00001 00010 00100 01000 01000 01000",
    "8": "01110 10001 10001 01110 10001 10001 01110",
    "9": "01110 10001 10001 01111 00001 00010 01100",
    "A": "01110 10001 10001 11111 10001 10001 10001",
    "B": "11110 10001 10001 11110 10001 10001 11110",
    "C": "01110 10001 10000 10000 10000 10001 01110",
    "D": "11100 10010 10001 10001 10001 10010 11100",
    "E": "11111 10000 10000 11110 10000 10000 11111",
    "F": "11111 10000 10000 11110 10000 10000 10000",
    "G": "01110 10001 10000 10111 10001 10001 01111",
    "H": "10001 10001 10001 11111 10001 10001 10001",
    "I": "01110 00100 00100 00100 00100 00100 01110",
    "J": "00111 00010 00010 00010 00010 10010 01100",
    "K": "10001 10010 10100 11000 10100 10010 10001",
    "L": "10000 10000 10000 10000 10000 10000 11111",
    "M": "10001 11011 10101 10101 10001 10001 10001",
    "N": "10001 10001 11001 10101 10011 10001 10001",
    "O": "01110 10001 10001 10001 10001 10001 01110",
    "P": "11110 10001 10001 11110 10000 10000 10000",
    "Q": "01110 10001 10001 10001 10101 10010 01101",
    "R": "11110 10001 10001 11110 10100 10010 10001",
    "S": "01111 10000 10000 01110 00001 00001 11110",
    "T": "11111 00100 00100 00100 00100 00100 00100",
    "U": "10001 10001 10001 10001 10001 10001 01110",
    "V": "10001 10001 10001 10001 10001 01010 00100",
    "W": "10001 10001 10001 10101 10101 10101 01010",
    "X": "10001 10001 01010 00100 01010 10001 10001",
    "Y": "10001 10001 10001 01010 00100 00100 00100",
    "Z": "11111 00001 00010 00100 01000 10000 11111",
    " ": "00000 00000 00000 00000 00000 00000 00000",
    ".": "00000 00000 00000 00000 00000 01100 01100",
    "%": "11000 11001 00010 00100 01000 10011 00011",
    "/": "00000 00001 00010 00100 01000 10000 00000",
    ":": "00000 01100 01100 00000 01100 01100 00000",
    "-": "00000 00000 00000 11111 00000 00000 00000",
    "+": "00000 00100 00100 11111 00100 00100 00000",
}
# Per glyph, the (dx, dy) of its ink pixels.
GLYPHS: dict[str, tuple[tuple[int, int], ...]] = {
    char: tuple((dx, dy) for dy, row in enumerate(rows.split()) for dx, bit in enumerate(row) if bit == "1")
    for char, rows in _GLYPH_ROWS.items()
}

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def text_width(text: str) -> int:
    """Pixels from the first glyph's left column to the last glyph's right column (0 for "")."""
    return max(0, len(text) * ADVANCE - 1)


class Raster:
    def __init__(self, width: int, height: int, palette: Sequence[tuple[int, int, int]], background: int = 0):
        if width <= 0 or height <= 0:
            raise ValueError("a raster needs a positive width and height")
        if not 1 <= len(palette) <= 256:
            raise ValueError("a palette holds 1 to 256 colours")
        self.width = width
        self.height = height
        self.palette = tuple(palette)
        self._check_colour(background)
        self.pixels = bytearray([background]) * (width * height)

    def _check_colour(self, colour: int) -> None:
        if not 0 <= colour < len(self.palette):
            raise ValueError(f"colour index {colour} is not in the palette")

    def fill(self, x0: int, y0: int, x1: int, y1: int, colour: int) -> None:
        """Fill [x0, x1) x [y0, y1), clipped to the image."""
        self._check_colour(colour)
        x0, x1 = max(0, x0), min(self.width, x1)
        y0, y1 = max(0, y0), min(self.height, y1)
        if x0 >= x1 or y0 >= y1:
            return
        run = bytes([colour]) * (x1 - x0)
        for y in range(y0, y1):
            start = y * self.width + x0
            self.pixels[start:start + len(run)] = run

    def hline(self, x0: int, x1: int, y: int, colour: int) -> None:
        """Columns x0..x1 inclusive on row y."""
        self.fill(x0, y, x1 + 1, y + 1, colour)

    def vline(self, x: int, y0: int, y1: int, colour: int) -> None:
        """Rows y0..y1 inclusive in column x."""
        self.fill(x, y0, x + 1, y1 + 1, colour)

    def outline(self, x0: int, y0: int, x1: int, y1: int, colour: int) -> None:
        """The one-pixel frame whose corners are (x0, y0) and (x1, y1), inclusive."""
        self.hline(x0, x1, y0, colour)
        self.hline(x0, x1, y1, colour)
        self.vline(x0, y0, y1, colour)
        self.vline(x1, y0, y1, colour)

    def text(self, x: int, y: int, text: str, colour: int) -> None:
        """Draw `text` with its top-left corner at (x, y); ValueError for a character the font lacks."""
        self._check_colour(colour)
        for i, char in enumerate(text.upper()):
            glyph = GLYPHS.get(char)
            if glyph is None:
                raise ValueError(f"the graph font has no glyph for {char!r}")
            for dx, dy in glyph:
                self._set(x + i * ADVANCE + dx, y + dy, colour)

    def _set(self, x: int, y: int, colour: int) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            self.pixels[y * self.width + x] = colour

    def to_png(self) -> bytes:
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 3, 0, 0, 0)
        palette = b"".join(bytes(rgb) for rgb in self.palette)
        rows = b"".join(b"\x00" + self.pixels[y * self.width:(y + 1) * self.width] for y in range(self.height))
        return b"".join((_PNG_SIGNATURE, _chunk(b"IHDR", header), _chunk(b"PLTE", palette),
                         _chunk(b"IDAT", zlib.compress(rows, 9)), _chunk(b"IEND", b"")))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
