"""Section audio and images, served by a Flask blueprint.

Routes (all behind the login that :mod:`sectionist.dashboard.auth` installs on every route):

``/audio/<section_id>.wav`` and ``.ogg``
    Only that section's span, read from the song's original file with a seek by
    :func:`sectionist.analysis.corpus.audio.read_span` (local file, or ranged GETs on ``s3://`` through
    :class:`sectionist.store.s3.S3RangeFile`), encoded as 16-bit WAV
    or Ogg Vorbis. HTTP range requests (206), ``ETag`` / ``If-None-Match`` (304) and private
    caching headers. The encoding is deterministic (the Ogg stream's serial number is fixed by
    :mod:`sectionist.dashboard.media.oggpages`): every worker process, and every encoding after a
    cache eviction, sends the same bytes, and the strong ``ETag`` is the hash of those bytes
    (:func:`body_etag`). Range answers are cut from them, so any split glued back is the whole.
``/audio/span/<song_id>.wav?start=S&end=E`` (and ``.ogg``)
    Any span of a song (the Songs page's sound tracks), with the same rules; start and end are
    checked (400) and the song id is looked up (404).
``/spectrogram/<section_id>.png``
    Log-mel spectrogram of the section, rendered on the server.
``/spectrogram/cluster/<run_id>/<cluster>.png``
    A cluster's sections side by side as their mean log-mel spectra (the store's ``melspec``
    table), or, in a store without it, the mean log-mel spectrogram of its prototypes' audio.

The section id is looked up in the store's ``sections`` table and the file comes from the
``songs`` table: no path is ever built from the URL, so an unknown id or a traversal attempt
is a 404. Encoded audio and PNGs are kept, with their ETag, in the app's in-memory LRU cache bounded
by their size in bytes (:data:`CACHE_BYTES` per app and process, :data:`MEMORY_CACHE_KEY`), and on disk
in the app's media folder that every worker process shares (:mod:`sectionist.dashboard.media.diskcache`,
:data:`MEDIA_CACHE_KEY`): a section's spectrogram is rendered once, by the first request that needs it.
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
from collections import OrderedDict

import numpy as np
import werkzeug.utils
from flask import Blueprint, abort, current_app, has_app_context, request

from sectionist.analysis import melscale
from sectionist.analysis.corpus.audio import open_source, read_span
from sectionist.analysis.errors import AudioError, StoreError

from sectionist.dashboard.data.store_data import EXTENSION_KEY, StoreData
from sectionist.dashboard.media.oggpages import with_serial
from sectionist.dashboard.media.sources import s3_options
from sectionist.dashboard.ui.i18n import _, current_language

#: Longest span the audio route will encode (a section longer than this is cut).
MAX_SECONDS = 300.0
#: Cache budget in bytes for encoded audio + PNGs (per process).
CACHE_BYTES = 96 * 1024 * 1024
AUDIO_TYPES = {"wav": "audio/wav", "ogg": "audio/ogg"}
#: Frames handed to the encoder per call.
ENCODE_BLOCK = 65536
SPEC_SIZE = (640, 200)  # PNG width, height in pixels (axes included)
#: Where the image sits in the PNG (left, bottom, width, height as fractions): the axes' labels around it.
SPEC_AXES = (0.085, 0.21, 0.885, 0.76)

bp = Blueprint("sectionist_audio", __name__)
#: Where ``create_app`` puts the app's :class:`~sectionist.dashboard.media.diskcache.MediaCache` (absent:
#: no disk cache).
MEDIA_CACHE_KEY = "sectionist_media_cache"
#: Where :func:`install_caches` puts the app's in-memory cache of encoded audio and PNGs.
MEMORY_CACHE_KEY = "sectionist_media_memory"


class _LRU:
    """A thread-safe LRU of bytes values bounded by their total size."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._d: OrderedDict = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            v = self._d.get(key)
            if v is not None:
                self._d.move_to_end(key)
            return v

    def put(self, key, value):
        n = _nbytes(value)
        if n > self.max_bytes:
            return
        with self._lock:
            if key in self._d:
                self._size -= _nbytes(self._d.pop(key))
            self._d[key] = value
            self._size += n
            while self._size > self.max_bytes and self._d:
                _, old = self._d.popitem(last=False)
                self._size -= _nbytes(old)


def _nbytes(v):
    if isinstance(v, (bytes, bytearray)):
        return len(v)
    if isinstance(v, tuple):
        return sum(_nbytes(x) for x in v)
    if isinstance(v, np.ndarray):
        return v.nbytes
    return 64


def install_caches(server, disk=None, memory_bytes: int = CACHE_BYTES) -> None:
    """Give a Flask ``server`` its media caches: one in memory (``memory_bytes``) and, when ``disk``
    (a :class:`~sectionist.dashboard.media.diskcache.MediaCache`) is given, the folder its worker
    processes share."""
    server.extensions[MEMORY_CACHE_KEY] = _LRU(memory_bytes)
    if disk is not None:
        server.extensions[MEDIA_CACHE_KEY] = disk


#: The memory cache of calls made outside a Flask app (figure builders called as plain functions).
_NO_APP_CACHE = _LRU(CACHE_BYTES)


def _memory() -> _LRU:
    if not has_app_context():
        return _NO_APP_CACHE
    return current_app.extensions.setdefault(MEMORY_CACHE_KEY, _LRU(CACHE_BYTES))


def _data() -> StoreData:
    try:
        return current_app.extensions[EXTENSION_KEY]
    except KeyError:  # pragma: no cover - the blueprint is only registered by create_app
        abort(500)


# ---- reading spans -------------------------------------------------------------------------------
def _section_span(data: StoreData, row: dict) -> tuple[np.ndarray, int]:
    """Samples ``[shape=(n, channels)]`` of one section (at most :data:`MAX_SECONDS`) and their rate."""
    return read_span(str(row["song_uri"]), row["start_s"], row["end_s"], max_seconds=MAX_SECONDS,
                     **s3_options(data.store))


def encode(y: np.ndarray, sr: int, fmt: str) -> bytes:
    """Encode samples ``[shape=(n, channels)]`` as ``wav`` (16-bit PCM) or ``ogg`` (Vorbis): the same
    samples always give the same bytes (the Ogg stream gets a fixed serial number)."""
    import soundfile as sf

    if y.shape[1] > 2:
        y = y.mean(axis=1, keepdims=True)
    if len(y) == 0:
        y = np.zeros((1, y.shape[1]), np.float32)
    if fmt == "wav":
        kind = {"format": "WAV", "subtype": "PCM_16"}
    elif fmt == "ogg":
        kind, y = {"format": "OGG", "subtype": "VORBIS"}, np.clip(y, -1, 1)
    else:
        raise ValueError(fmt)
    buf = io.BytesIO()
    with sf.SoundFile(buf, "w", samplerate=sr, channels=y.shape[1], **kind) as f:
        # in blocks: libsndfile 1.2.2 crashes (SIGSEGV) writing ~2M frames of Ogg Vorbis in one call
        for at in range(0, len(y), ENCODE_BLOCK):
            f.write(y[at:at + ENCODE_BLOCK])
    # libsndfile draws a random serial number per Ogg stream; the Vorbis packets are deterministic
    return with_serial(buf.getvalue()) if fmt == "ogg" else buf.getvalue()


def _lookup(data: StoreData, section_id: str) -> dict:
    row = data.section(section_id)
    if row is None:
        abort(404)
    return row


def _etag(*parts) -> str:
    """A cache key of what a payload is made from (not sent: the ETag is :func:`body_etag`)."""
    return hashlib.sha1(":".join(str(p) for p in parts).encode()).hexdigest()[:32]


def body_etag(payload: bytes) -> str:
    """The strong ETag of a body: the first 32 hex digits of its SHA-256."""
    return hashlib.sha256(payload).hexdigest()[:32]


def _cached(key, make) -> tuple[bytes, str] | None:
    """``(payload, body_etag(payload))`` for ``key`` from the process's memory, else from the app's
    media folder shared by every worker (:class:`~sectionist.dashboard.media.diskcache.MediaCache`), else
    made by ``make()`` (which may abort, or return None for nothing to send) and kept in both."""
    memory = _memory()
    hit = memory.get(key)
    if hit is None:
        disk = current_app.extensions.get(MEDIA_CACHE_KEY)
        payload = disk.get_or_make(key, make) if disk is not None else make()
        if payload is None:
            return None
        hit = (payload, body_etag(payload))
        memory.put(key, hit)
    return hit


_RANGE_SPEC = re.compile(r"[ \t]*(\d*)[ \t]*-[ \t]*(\d*)[ \t]*")


def _range_to_honour(value: str | None, length: int) -> str | None:
    """The ``Range`` header to act on, as one ``bytes=first-last`` spec within the body, or None to
    ignore it and send the whole body (200), as RFC 9110 §14.2 asks of an absent, malformed or
    non-``bytes`` header (``bytes=abc``, ``bytes=5-2``, ``items=0-10``).

    Satisfiable (§14.1.2), and served as 206: ``first-last`` and ``first-`` with ``first`` before
    the end (``last`` past the end is cut to the last byte); a suffix ``-n`` with ``n > 0`` (the
    last ``n`` bytes; longer than the body, the whole body). Of several ranges the first satisfiable
    one is served (206, one part). When none is satisfiable (``first`` at or past the end,
    ``-0``), the first is kept and answered 416 with ``Content-Range: bytes */length``."""
    if not value:
        return None
    unit, sep, specs = value.partition("=")
    if not sep or unit.strip(" \t").lower() != "bytes":
        return None
    parsed = []
    for item in specs.split(","):
        m = _RANGE_SPEC.fullmatch(item)
        if m is None or not (m[1] or m[2]) or (m[1] and m[2] and int(m[2]) < int(m[1])):
            return None
        parsed.append((m[1], m[2]))
    for first, last in parsed:
        if first and int(first) < length:
            end = length - 1 if not last else min(int(last), length - 1)
            return f"bytes={int(first)}-{end}"
        if not first and int(last) > 0 and length > 0:
            return f"bytes={max(0, length - int(last))}-{length - 1}"
    return f"bytes={parsed[0][0]}-{parsed[0][1]}"


def _send(payload: bytes, mimetype: str, etag: str, max_age: int = 3600):
    environ = dict(request.environ)
    honour = _range_to_honour(environ.pop("HTTP_RANGE", None), len(payload))
    if honour is not None:
        environ["HTTP_RANGE"] = honour
    resp = werkzeug.utils.send_file(io.BytesIO(payload), environ, mimetype=mimetype, conditional=True, etag=etag,
                                    max_age=max_age, response_class=current_app.response_class)
    # behind a login: browsers may cache, shared caches may not
    resp.cache_control.public = False
    resp.cache_control.private = True
    resp.headers["Accept-Ranges"] = "bytes"
    return resp


def section_audio_bytes(data: StoreData, section_id: str, fmt: str) -> tuple[bytes, str]:
    """Encoded audio of one section and its ETag (cached)."""
    row = _lookup(data, section_id)
    key = ("audio", data.store_uri,
           _etag(row.get("song_content_hash") or row["song_id"], row["start_s"], row["end_s"], fmt, "a1"))

    def make():
        try:
            y, sr = _section_span(data, row)
        except (AudioError, StoreError) as exc:
            current_app.logger.warning("audio for %s: %s", section_id, exc)
            abort(404 if "missing" in str(exc) or "not found" in str(exc) else 500)
        return encode(y, sr, fmt)

    return _cached(key, make)


@bp.route("/audio/<section_id>.<fmt>")
def section_audio(section_id: str, fmt: str):
    if fmt not in AUDIO_TYPES:
        abort(404)
    payload, tag = section_audio_bytes(_data(), section_id, fmt)
    return _send(payload, AUDIO_TYPES[fmt], tag)


def span_url(song_id: str, start_s: float, end_s: float, fmt: str = "wav") -> str:
    """The URL of :func:`span_audio` for a span of a song (what the Songs page's sound tracks play)."""
    from urllib.parse import quote

    return f"/audio/span/{quote(str(song_id), safe='')}.{fmt}?start={float(start_s):.3f}&end={float(end_s):.3f}"


def _span_args(data: StoreData, song_id: str) -> tuple[dict, float, float]:
    """The song's row and the checked ``start``/``end`` query values (400 when not numbers, negative,
    not finite, end ≤ start or longer than :data:`MAX_SECONDS`; 404 for an unknown song)."""
    if song_id not in data.songs.index:
        abort(404)
    try:
        # to the millisecond: one cache entry per audible span
        start, end = round(float(request.args["start"]), 3), round(float(request.args["end"]), 3)
    except (KeyError, ValueError, OverflowError):
        abort(400, description="start and end (seconds) are required numbers")
    if not (np.isfinite(start) and np.isfinite(end)) or start < 0 or end <= start:
        abort(400, description="need 0 <= start < end")
    if end - start > MAX_SECONDS:
        abort(400, description=f"a span is at most {MAX_SECONDS:g} s")
    row = data.songs.loc[song_id]
    dur = row.get("duration_s")
    if dur is not None and np.isfinite(dur) and start >= float(dur):
        abort(400, description="start is past the end of the song")
    return row, start, end


@bp.route("/audio/span/<song_id>.<fmt>")
def span_audio(song_id: str, fmt: str):
    """Any span of a song (``?start=S&end=E`` in seconds), for blocks that are not sections (the
    sound tracks): the same reading, encoding, Range and caching rules as a section's audio."""
    if fmt not in AUDIO_TYPES:
        abort(404)
    data = _data()
    row, start, end = _span_args(data, song_id)
    key = ("audio", data.store_uri, _etag(row.get("content_hash") or song_id, start, end, fmt, "span1"))

    def make():
        try:
            y, sr = read_span(str(row["uri"]), start, end, max_seconds=MAX_SECONDS, **s3_options(data.store))
        except (AudioError, StoreError) as exc:
            current_app.logger.warning("audio for %s %.3f-%.3f: %s", song_id, start, end, exc)
            abort(404 if "missing" in str(exc) or "not found" in str(exc) else 500)
        return encode(y, sr, fmt)

    payload, tag = _cached(key, make)
    return _send(payload, AUDIO_TYPES[fmt], tag)


MEDIA_PREFIXES = ("/audio/", "/spectrogram/")


@bp.before_app_request
def _media_paths_only_reach_media_routes():
    """Anything under the media prefixes that is not one of this blueprint's routes (several path
    segments, empty or dot segments, encoded slashes…) is a 404, never the app's HTML shell."""
    if request.path.startswith(MEDIA_PREFIXES) and not (request.endpoint or "").startswith(f"{bp.name}."):
        abort(404)


# ---- spectrograms ----------------------------------------------------------------------------------
def log_mel(y: np.ndarray, sr: int, *, n_mels: int = 96, fmax: float | None = None) -> np.ndarray:
    """Log-mel power spectrogram in dB [shape=(n_mels, t)] of mono samples ``y`` (librosa's
    melspectrogram and power_to_db, computed by :mod:`sectionist.analysis.melscale` without librosa)."""
    if y.ndim == 2:
        y = y.mean(axis=1)
    if len(y) < 2048:
        y = np.pad(y, (0, 2048 - len(y)))
    hop = max(128, len(y) // 800)
    S = melscale.melspectrogram(y=y, sr=sr, n_fft=2048, hop_length=hop, n_mels=n_mels, fmax=fmax or sr / 2)
    return melscale.power_to_db(S, ref=np.max, top_db=80.0)


#: Frequencies (Hz) marked on the spectrograms' mel axis, where they are below its top.
FREQUENCY_TICKS = (100, 500, 1000, 2000, 4000, 8000, 16000)


def frequency_ticks(fmax: float) -> tuple[list[float], list[str]]:
    """Tick positions on a mel axis (librosa's Slaney mel of each frequency) and their labels in Hz
    ("500", "2k") for a spectrogram whose bands reach ``fmax`` Hz."""
    freqs = [f for f in FREQUENCY_TICKS if f <= fmax]
    return ([float(melscale.hz_to_mel(f)) for f in freqs],
            [f"{f // 1000}k" if f >= 1000 else str(f) for f in freqs])


def render_png(S_db: np.ndarray, size=SPEC_SIZE, *, fmax: float | None = None, x_range=(None, None),
               x_label: str | None = None) -> bytes:
    """A dB image [shape=(n_mels, t)] as a PNG in the magma colour map, low frequencies at the bottom,
    with its axes: ``x_label`` along the bottom (``x_range`` its first and last value, default 0 to
    the number of columns) and the frequency up the side, in Hz at mel-scale positions (the bands
    are equally spaced in mel from 0 to ``fmax``; without ``fmax``, the band numbers).

    Parameters
    ----------
    S_db : np.ndarray [shape=(n_mels, t)]
    size : (int, int)
        Width and height of the PNG in pixels (the axes' labels included).
    fmax : float, optional
        Highest frequency of the mel bands in Hz (librosa's default: half the sample rate).
    x_range : (float, float)
        Values of the left and right edges of the image (e.g. the section's start and end in the song).
    x_label : str, optional
        Default: "time (s)" in the request's language.

    Returns
    -------
    bytes
    """
    from sectionist.dashboard.media.picture import draw_png

    S_db = np.asarray(S_db, dtype=np.float64)
    n_mels, n_t = S_db.shape
    x0 = 0.0 if x_range[0] is None else float(x_range[0])
    x1 = float(n_t) if x_range[1] is None else float(x_range[1])
    if fmax:
        y_range = (0.0, float(melscale.hz_to_mel(fmax)))
        y_ticks, y_labels = frequency_ticks(fmax)
        y_label = "Hz (mel)"
    else:
        y_range = (0.0, float(n_mels))
        y_ticks = [float(v) for v in range(0, n_mels + 1, max(1, n_mels // 4 // 10 * 10 or 1))]
        y_labels = [f"{v:g}" for v in y_ticks]
        y_label = _("mel band")
    return draw_png(S_db, size, SPEC_AXES, x_range=(x0, x1), y_range=y_range, y_ticks=y_ticks, y_labels=y_labels,
                    x_label=_("time (s)") if x_label is None else x_label, y_label=y_label)


def section_spectrogram_png(data: StoreData, section_id: str) -> tuple[bytes, str]:
    row = _lookup(data, section_id)
    # the axes' labels are in the request's language: one image (and ETag) per language
    key = ("spec", data.store_uri, _etag(row.get("song_content_hash") or row["song_id"], row["start_s"],
                                         row["end_s"], "spec2", current_language()))

    def make():
        try:
            y, sr = _section_span(data, row)
        except (AudioError, StoreError) as exc:
            current_app.logger.warning("spectrogram for %s: %s", section_id, exc)
            abort(404)
        # the section's own time in its song along the bottom, the mel bands' frequencies up the side
        return render_png(log_mel(y, sr), fmax=sr / 2, x_range=(float(row["start_s"]), float(row["end_s"])),
                          x_label=_("time in the song (s)"))

    return _cached(key, make)


@bp.route("/spectrogram/<section_id>.png")
def section_spectrogram(section_id: str):
    png, tag = section_spectrogram_png(_data(), section_id)
    return _send_labelled(png, tag)


def _send_labelled(png: bytes, tag: str):
    """An image with words on it: its language follows the language cookie or Accept-Language."""
    resp = _send(png, "image/png", tag)
    resp.vary.update(("Cookie", "Accept-Language"))
    return resp


def cluster_spectra_png(data: StoreData, run_id: str, cluster: int, max_sections: int = 400) -> bytes | None:
    """The cluster's sections side by side, each as its mean log-mel spectrum (``melspec`` table),
    most confident first: one column per section, low frequencies at the bottom. None without
    the table or members with spectra."""
    spectra = data.melspec
    if spectra is None:
        return None
    arr = data.run_arrays(run_id)
    members = np.flatnonzero((arr.label == cluster) & ~np.isnan(spectra).any(axis=1))
    if not len(members):
        return None
    members = members[np.argsort(-np.nan_to_num(arr.confidence[members], nan=-1), kind="stable")][:max_sections]
    # the melspec table's bands span 0 to half the analysis' sample rate (sectionist.analysis.sections.features)
    rate = (data.store.read_manifest().get("config") or {}).get("sample_rate")
    return render_png(spectra[members].T, fmax=float(rate) / 2 if rate else None,
                      x_label=_("its sections, most confident first"))


@bp.route("/spectrogram/cluster/<run_id>/<int:cluster>.png")
def cluster_spectrogram(run_id: str, cluster: int):
    """The cluster's spectra image (from the store), else the mean spectrogram of its prototypes'
    audio."""
    data = _data()
    if run_id not in data.runs.index:
        abort(404)
    clusters = data.clusters(run_id)
    if cluster not in clusters.index:
        abort(404)
    key = ("cspectra", data.store_uri, _etag(data.version, run_id, cluster, "cspectra2", current_language()))
    hit = _cached(key, lambda: cluster_spectra_png(data, run_id, cluster))
    if hit is not None:
        return _send_labelled(*hit)
    protos = [p for p in (clusters.loc[cluster].get("prototypes") or []) if data.position(p) is not None][:6]
    if not protos:
        abort(404)
    key = ("cspec", data.store_uri, _etag(data.version, run_id, cluster, *protos, "cspec2", current_language()))

    def make():
        mats, fmaxes = [], []
        for sid in protos:
            row = data.section(sid)
            try:
                y, sr = _section_span(data, row)
            except (AudioError, StoreError):
                continue
            # a common mel range across songs of different rates
            fmaxes.append(min(sr / 2, 8000.0))
            mats.append(_resize_time(log_mel(y, sr, fmax=fmaxes[-1]), 400))
        if not mats:
            abort(404)
        return render_png(np.mean(mats, axis=0), fmax=fmaxes[0] if len(set(fmaxes)) == 1 else None,
                          x_range=(0.0, 100.0), x_label=_("position in the section (%)"))

    return _send_labelled(*_cached(key, make))


def _resize_time(S: np.ndarray, t: int) -> np.ndarray:
    src = np.linspace(0, 1, S.shape[1])
    dst = np.linspace(0, 1, t)
    return np.stack([np.interp(dst, src, row) for row in S])


# ---- song overview ----------------------------------------------------------------------------------
def song_envelope(data: StoreData, song_id: str, n_points: int = 1200):
    """(times, min, max) of a song's waveform at ``n_points`` points, reading the file in blocks.

    Returns None when the file cannot be read.
    """
    import soundfile as sf

    key = ("env", data.store_uri, song_id, n_points)
    hit = _memory().get(key)
    if hit is not None:
        return hit
    if song_id not in data.songs.index:
        return None
    uri = str(data.songs.loc[song_id, "uri"])
    try:
        src = open_source(uri, **s3_options(data.store))
        with sf.SoundFile(src) as f:
            total = f.frames
            sr = f.samplerate
            per = max(1, total // n_points)
            lo = np.zeros(n_points, np.float32)
            hi = np.zeros(n_points, np.float32)
            i = 0
            for block in f.blocks(blocksize=per * 256, dtype="float32", always_2d=True):
                mono = block.mean(axis=1)
                m = len(mono) // per
                if m == 0:
                    continue
                chunks = mono[: m * per].reshape(m, per)
                j = min(n_points, i + m)
                lo[i:j] = chunks.min(axis=1)[: j - i]
                hi[i:j] = chunks.max(axis=1)[: j - i]
                i = j
                if i >= n_points:
                    break
        if not isinstance(src, str):
            src.close()
    except (sf.LibsndfileError, AudioError, StoreError, OSError):
        return None
    t = (np.arange(i) * per + per / 2) / sr
    out = (t, lo[:i], hi[:i])
    _memory().put(key, out)
    return out
