"""A small ctypes binding of libopenmpt's C API: load a tracker module, render it, read its position
and its pattern data.

Only functions present in libopenmpt 0.6 (Debian bookworm's ``libopenmpt0``) are used; that version
has no call giving the time of an order/row, so the player's position is read between small rendered
chunks (see :mod:`sectionist.analysis.corpus.tracker`). The library is loaded on first use, never at
import time; without it :func:`library` raises an :class:`InputError` naming the Debian package.

Audio is read as 32-bit float (libopenmpt dithers only its integer outputs), so a module renders to
the same samples every time with the same library.
"""

from __future__ import annotations

import ctypes as C
import ctypes.util

import numpy as np

from sectionist.analysis.errors import InputError

#: The shared library's name (Debian package ``libopenmpt0``).
LIBRARY = "libopenmpt.so.0"

#: ``openmpt_module_get_pattern_row_channel_command`` commands, in the order of a cell's fields.
CELL_COMMANDS: dict[str, int] = {"note": 0, "instrument": 1, "volume_effect": 2, "effect": 3, "volume": 4,
                                 "parameter": 5}

#: ``openmpt_module_set_render_param`` parameters.
RENDER_INTERPOLATION_FILTER_LENGTH = 3
RENDER_STEREO_SEPARATION_PERCENT = 2

_i32, _vp, _sz = C.c_int32, C.c_void_p, C.c_size_t
#: name → (restype, argtypes) of the functions used.
_PROTOTYPES = {
    "openmpt_get_library_version": (C.c_uint32, []),
    "openmpt_get_supported_extensions": (_vp, []),
    "openmpt_free_string": (None, [_vp]),
    "openmpt_module_create_from_memory2": (_vp, [_vp, _sz, _vp, _vp, _vp, _vp, C.POINTER(C.c_int),
                                                  C.POINTER(_vp), _vp]),
    "openmpt_module_destroy": (None, [_vp]),
    "openmpt_module_get_num_subsongs": (_i32, [_vp]),
    "openmpt_module_select_subsong": (C.c_int, [_vp, _i32]),
    "openmpt_module_set_repeat_count": (C.c_int, [_vp, _i32]),
    "openmpt_module_set_render_param": (C.c_int, [_vp, C.c_int, _i32]),
    "openmpt_module_ctl_set_text": (C.c_int, [_vp, C.c_char_p, C.c_char_p]),
    "openmpt_module_get_duration_seconds": (C.c_double, [_vp]),
    "openmpt_module_get_metadata": (_vp, [_vp, C.c_char_p]),
    "openmpt_module_read_float_mono": (_sz, [_vp, _i32, _sz, C.POINTER(C.c_float)]),
    "openmpt_module_get_current_order": (_i32, [_vp]),
    "openmpt_module_get_current_pattern": (_i32, [_vp]),
    "openmpt_module_get_current_row": (_i32, [_vp]),
    "openmpt_module_get_current_speed": (_i32, [_vp]),
    "openmpt_module_get_current_tempo": (_i32, [_vp]),
    "openmpt_module_get_current_estimated_bpm": (C.c_double, [_vp]),
    "openmpt_module_get_num_channels": (_i32, [_vp]),
    "openmpt_module_get_num_orders": (_i32, [_vp]),
    "openmpt_module_get_num_patterns": (_i32, [_vp]),
    "openmpt_module_get_order_pattern": (_i32, [_vp, _i32]),
    "openmpt_module_get_pattern_num_rows": (_i32, [_vp, _i32]),
    "openmpt_module_get_pattern_row_channel_command": (C.c_uint8, [_vp, _i32, _i32, _i32, C.c_int]),
}

_LIB: list = []  # the loaded library, once


def library():
    """The loaded libopenmpt (``ctypes.CDLL``) with the prototypes set, or an :class:`InputError`."""
    if _LIB:
        return _LIB[0]
    try:
        lib = C.CDLL(LIBRARY)
    except OSError as exc:
        found = ctypes.util.find_library("openmpt")
        raise InputError(f"cannot load {LIBRARY} ({exc}; found: {found or 'none'}): install the Debian package "
                         "'libopenmpt0' (scripts/install-system-deps.sh)") from exc
    for name, (restype, argtypes) in _PROTOTYPES.items():
        try:
            fn = getattr(lib, name)
        except AttributeError as exc:
            raise InputError(f"{LIBRARY} has no function {name}: libopenmpt 0.6 or newer is needed") from exc
        fn.restype, fn.argtypes = restype, argtypes
    _LIB.append(lib)
    return lib


def take_string(lib, ptr) -> str:
    """The C string at ``ptr`` (freed with ``openmpt_free_string``), '' for NULL."""
    if not ptr:
        return ""
    try:
        return C.string_at(ptr).decode("utf-8", "replace")
    finally:
        lib.openmpt_free_string(ptr)


def library_version() -> str:
    """libopenmpt's version as ``major.minor.patch``."""
    v = library().openmpt_get_library_version()
    return f"{v >> 24}.{(v >> 16) & 0xFF}.{v & 0xFFFF}"


def supported_extensions() -> tuple[str, ...]:
    """The file extensions libopenmpt reads (lower case, without the dot)."""
    lib = library()
    return tuple(e for e in take_string(lib, lib.openmpt_get_supported_extensions()).lower().split(";") if e)


class Module:
    """A loaded tracker module (a context manager; :meth:`close` frees it).

    Parameters
    ----------
    data : bytes
        The module file's contents.
    name : str
        What to name in errors (usually the file's path).

    Raises
    ------
    InputError
        libopenmpt cannot read ``data``; the message names ``name`` and libopenmpt's reason.
    """

    def __init__(self, data: bytes, name: str):
        self.lib = lib = library()
        self.name = name
        self._data = C.create_string_buffer(bytes(data), len(data))
        err, msg = C.c_int(0), C.c_void_p()
        silent = C.cast(lib.openmpt_log_func_silent, C.c_void_p)
        self.mod = lib.openmpt_module_create_from_memory2(self._data, len(data), silent, None, None, None,
                                                          C.byref(err), C.byref(msg), None)
        reason = take_string(lib, msg.value)
        if not self.mod:
            raise InputError(f"{name}: libopenmpt cannot read it as a tracker module "
                             f"({reason or 'unknown error'}, code {err.value})")

    def close(self) -> None:
        """Free the module (idempotent)."""
        if self.mod:
            self.lib.openmpt_module_destroy(self.mod)
            self.mod = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- set-up ----------------------------------------------------------------------------
    def prepare(self, subsong: int = 0) -> None:
        """Select ``subsong``, play it once and stop at its end (no fade-out, no loop)."""
        lib, mod = self.lib, self.mod
        if not lib.openmpt_module_select_subsong(mod, int(subsong)):
            raise InputError(f"{self.name}: libopenmpt cannot select subsong {subsong}")
        lib.openmpt_module_set_repeat_count(mod, 0)
        lib.openmpt_module_ctl_set_text(mod, b"play.at_end", b"stop")
        lib.openmpt_module_set_render_param(mod, RENDER_INTERPOLATION_FILTER_LENGTH, 8)

    # -- facts -----------------------------------------------------------------------------
    def metadata(self, key: str) -> str:
        """A metadata field (``type``, ``title``, ``artist``, ``tracker``, …), '' when absent."""
        return take_string(self.lib, self.lib.openmpt_module_get_metadata(self.mod, key.encode())).strip()

    @property
    def num_subsongs(self) -> int:
        return int(self.lib.openmpt_module_get_num_subsongs(self.mod))

    @property
    def num_channels(self) -> int:
        return int(self.lib.openmpt_module_get_num_channels(self.mod))

    @property
    def num_orders(self) -> int:
        return int(self.lib.openmpt_module_get_num_orders(self.mod))

    @property
    def num_patterns(self) -> int:
        return int(self.lib.openmpt_module_get_num_patterns(self.mod))

    @property
    def duration_seconds(self) -> float:
        """Length of the selected subsong, as libopenmpt computes it."""
        return float(self.lib.openmpt_module_get_duration_seconds(self.mod))

    def order_pattern(self, order: int) -> int:
        return int(self.lib.openmpt_module_get_order_pattern(self.mod, int(order)))

    def pattern_rows(self, pattern: int) -> int:
        return int(self.lib.openmpt_module_get_pattern_num_rows(self.mod, int(pattern)))

    def pattern_cells(self, pattern: int) -> np.ndarray:
        """The cells of ``pattern``: ``np.ndarray [shape=(rows, channels, 6)]`` of uint8, the fields
        of :data:`CELL_COMMANDS` (note, instrument, volume effect, effect, volume, parameter)."""
        rows, chans = self.pattern_rows(pattern), self.num_channels
        get = self.lib.openmpt_module_get_pattern_row_channel_command
        mod, p = self.mod, int(pattern)
        cmds = tuple(CELL_COMMANDS.values())
        out = np.zeros((rows, chans, len(cmds)), dtype=np.uint8)
        for r in range(rows):
            for c in range(chans):
                out[r, c] = [get(mod, p, r, c, k) for k in cmds]
        return out

    # -- playing ---------------------------------------------------------------------------
    def position(self) -> tuple[int, int, int]:
        """The ``(order, pattern, row)`` now playing."""
        lib, mod = self.lib, self.mod
        return (int(lib.openmpt_module_get_current_order(mod)), int(lib.openmpt_module_get_current_pattern(mod)),
                int(lib.openmpt_module_get_current_row(mod)))

    def timing(self) -> tuple[int, int, float]:
        """The current ``(speed, tempo, estimated_bpm)``: ticks per row, the tracker tempo, and
        libopenmpt's estimate of beats per minute (from the module's rows per beat)."""
        lib, mod = self.lib, self.mod
        return (int(lib.openmpt_module_get_current_speed(mod)), int(lib.openmpt_module_get_current_tempo(mod)),
                float(lib.openmpt_module_get_current_estimated_bpm(mod)))

    def read_mono(self, sample_rate: int, out: np.ndarray) -> int:
        """Render up to ``len(out)`` frames of mono float audio into ``out`` (float32, contiguous);
        the number rendered (0 at the end)."""
        ptr = out.ctypes.data_as(C.POINTER(C.c_float))
        return int(self.lib.openmpt_module_read_float_mono(self.mod, int(sample_rate), out.size, ptr))
