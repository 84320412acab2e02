"""The section player: an audio element streaming one section, and a bar showing where the
section sits in its song (the playhead is moved by ``assets/player.js`` while it plays)."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from dash import dcc, html

from sectionist.dashboard.ui.i18n import _
from sectionist.dashboard.ui.components.common import fmt_time


def audio_url(section_id: str, fmt: str = "ogg") -> str:
    return f"/audio/{quote(section_id, safe='')}.{fmt}"


def spectrogram_url(section_id: str) -> str:
    return f"/spectrogram/{quote(section_id, safe='')}.png"


def songs_link(song_id: str, section_id: str | None = None, run_id: str | None = None) -> str:
    q = {"song": song_id}
    if section_id:
        q["section"] = section_id
    if run_id:
        q["run"] = run_id
    return "/songs?" + urlencode(q)


def section_player(section: dict, *, autoplay: bool = False, fmt: str = "ogg", compact: bool = False,
                   element_id: str | None = None, run_id: str | None = None, timeline: bool = True,
                   preload: str = "metadata") -> html.Div:
    """Player for one section (a row of :meth:`sectionist.dashboard.data.store_data.StoreData.section`).

    ``timeline=False`` leaves out the "song timeline →" link (blind judging: the Songs page would
    show every run's clusters of the section). ``preload="none"``: the audio is asked for only when
    played (a section's first request makes the server read and encode it)."""
    sid = section["section_id"]
    start, end = float(section["start_s"]), float(section["end_s"])
    duration = float(section.get("song_duration_s") or end) or end
    left = 100 * start / duration if duration else 0
    width = max(0.6, 100 * (end - start) / duration) if duration else 100
    audio_kw = {"id": element_id} if element_id else {}
    return html.Div(
        className="player compact" if compact else "player",
        **{"data-start": f"{start:.3f}", "data-end": f"{end:.3f}", "data-duration": f"{duration:.3f}",
           "data-song": str(section["song_id"])},
        children=[
            html.Div(className="player-title", children=[
                html.Span(section.get("song_title") or section.get("title") or section["song_id"], className="song-title"),
                html.Span(f"{fmt_time(start)} – {fmt_time(end)}", className="muted"),
                dcc.Link(_("song timeline →"), href=songs_link(section["song_id"], sid, run_id), className="link-small")
                if timeline and not compact else None,
            ]),
            html.Audio(src=audio_url(sid, fmt), controls=True, autoPlay=autoplay, preload=preload,
                       className="section-audio", **{"data-section": sid}, **audio_kw),
            html.Div(className="songbar", title=_("where this section sits in its song"), children=[
                html.Div(className="songbar-section", style={"left": f"{left:.3f}%", "width": f"{width:.3f}%"}),
                html.Div(className="songbar-playhead", style={"left": f"{left:.3f}%"}),
            ]),
            html.Div(className="songbar-labels", children=[
                html.Span("0:00"),
                html.Span(_("section %(number)s", number=int(section.get("index", 0)) + 1), className="muted"),
                html.Span(fmt_time(duration))]),
        ])


def span_player(song_id: str, song_title: str, start: float, end: float, duration: float | None, *,
                element_id: str, track: str | None = None) -> html.Div:
    """A player for any span of a song (``/audio/span/…``: a sound-track block, a lab slice), with
    the song bar under it; ``track`` names what was clicked."""
    import math

    from sectionist.dashboard.media.audio import span_url
    from sectionist.dashboard.ui.i18n import _

    duration = float(duration) if duration and not math.isnan(float(duration)) else float(end)
    left = 100 * start / duration if duration else 0
    width = max(0.6, 100 * (end - start) / duration) if duration else 100
    return html.Div(
        className="player", **{"data-start": f"{start:.3f}", "data-end": f"{end:.3f}",
                               "data-duration": f"{duration:.3f}", "data-song": str(song_id)},
        children=[
            html.Div(className="player-title", children=[
                html.Span(song_title, className="song-title"),
                html.Span(str(track), className="muted") if track else None,
                html.Span(f"{fmt_time(start)} – {fmt_time(end)}", className="muted")]),
            html.Audio(id=element_id, src=span_url(song_id, start, end), controls=True, autoPlay=True,
                       preload="auto", className="section-audio"),
            html.Div(className="songbar", title=_("where this span sits in its song"), children=[
                html.Div(className="songbar-section", style={"left": f"{left:.3f}%", "width": f"{width:.3f}%"}),
                html.Div(className="songbar-playhead", style={"left": f"{left:.3f}%"})]),
        ])
