"""Ogg pages (RFC 3533): walk them, compute their checksum, give a stream a fixed serial number.

libsndfile starts every Ogg Vorbis stream it writes with a random serial number (there is no
option to set it), and the serial is in every page's header and so in every page's CRC: the same
samples encode to different bytes each time. The Vorbis packets themselves are deterministic, so
:func:`with_serial` rewrites the serial and the CRCs, and the same samples always give the same
bytes (:func:`sectionist.dashboard.media.audio.encode`).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

#: The serial number of every Ogg stream the app sends ("Sect"): one logical stream per file.
OGG_SERIAL = 0x53656374

CAPTURE = b"OggS"
HEADER_BYTES = 27  # up to and including the number of segments
SERIAL_AT = slice(14, 18)
CRC_AT = slice(22, 26)

# each byte with its bits in reverse order: Ogg's CRC is the unreflected form of zlib's CRC-32
BIT_REVERSED = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def ogg_crc(page: bytes) -> int:
    """Ogg's page checksum: CRC-32 with polynomial 0x04c11db7, not reflected, initial value 0 and no
    final xor, of the whole page with its CRC field set to zero.

    Computed in C by :func:`zlib.crc32` (the reflected polynomial) over the bit-reversed bytes, with
    zlib's initial and final inversions undone, and its result's bits reversed back.
    """
    raw = zlib.crc32(page.translate(BIT_REVERSED), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return int(f"{raw:032b}"[::-1], 2)


def ogg_pages(data: bytes) -> Iterator[tuple[int, int]]:
    """``(start, end)`` offsets of each page of an Ogg file, in order; ValueError where the bytes
    are not a sequence of whole Ogg pages."""
    at = 0
    while at < len(data):
        if data[at:at + 4] != CAPTURE or at + HEADER_BYTES > len(data):
            raise ValueError(f"no Ogg page at byte {at}")
        n_segments = data[at + 26]
        table = data[at + HEADER_BYTES:at + HEADER_BYTES + n_segments]
        end = at + HEADER_BYTES + n_segments + sum(table)
        if len(table) < n_segments or end > len(data):
            raise ValueError(f"the Ogg page at byte {at} is cut short")
        yield at, end
        at = end


def with_serial(data: bytes, serial: int = OGG_SERIAL) -> bytes:
    """The Ogg file ``data`` (one logical stream) with ``serial`` as its stream serial number and
    every page's CRC recomputed; ValueError for a file of several streams or not made of Ogg pages."""
    out = bytearray(data)
    serials = set()
    for start, end in ogg_pages(data):
        serials.add(bytes(out[start + SERIAL_AT.start:start + SERIAL_AT.stop]))
        out[start + SERIAL_AT.start:start + SERIAL_AT.stop] = serial.to_bytes(4, "little")
        out[start + CRC_AT.start:start + CRC_AT.stop] = b"\0\0\0\0"
        crc = ogg_crc(bytes(out[start:end]))
        out[start + CRC_AT.start:start + CRC_AT.stop] = crc.to_bytes(4, "little")
    if len(serials) > 1:
        raise ValueError(f"an Ogg file of {len(serials)} logical streams")
    return bytes(out)
