"""The Judge page's pairs mode: "do these two sound like the same kind of section?".

:func:`pair_bar` is the answer bar (``s`` same kind, ``d`` different, keys in assets/judging.js),
:func:`pair_view` the pair on screen: two players, A and B, with their spectrograms. The queue comes
from :func:`sectionist.dashboard.judging.queues.build_pair_queue`; each answer is recorded at once by
the Judge page (:func:`sectionist.dashboard.judging.repository.record_pair`). No callbacks here.
"""

from __future__ import annotations

from dash import html

from sectionist.dashboard.ui import ids
from sectionist.dashboard.ui.components.common import empty_state, fmt_time
from sectionist.dashboard.ui.components.player import section_player, spectrogram_url
from sectionist.dashboard.ui.i18n import _


def pair_bar() -> html.Div:
    """The two answers (hidden until a pairs queue starts). assets/judging.js disables them while an
    answer is on its way and shows :data:`ids.JUDGE_PAIR_NOTE` for a key pressed meanwhile."""
    return html.Div(id=ids.JUDGE_PAIR_BAR, hidden=True, className="judge-pair-bar", children=[
        html.Div(className="judge-buttons", children=[
            html.Button([_("Same kind"), " ", html.Kbd("s", className="kbd")], id=ids.JUDGE_PAIR_SAME, n_clicks=0,
                        className="btn judge-btn judge-agree", **{"data-pair-key": "s"}),
            html.Button([_("Different"), " ", html.Kbd("d", className="kbd")], id=ids.JUDGE_PAIR_DIFFERENT,
                        n_clicks=0, className="btn judge-btn judge-disagree", **{"data-pair-key": "d"}),
        ]),
        html.Div(_("Saving your answer: press again when the next pair is on screen."), id=ids.JUDGE_PAIR_NOTE,
                 className="judge-key-note", hidden=True, role="status"),
    ])


def pair_key(item: dict) -> str:
    """The pair's id on the page (``data-pair-item``): its two section ids."""
    return f"{item['section_a']}|{item['section_b']}"


def pair_view(data, item: dict) -> list:
    """The pair ``item`` (``section_a``, ``section_b``) as two labelled players with spectrograms."""
    secs = [data.section(item["section_a"]), data.section(item["section_b"])]
    if any(sec is None for sec in secs):
        return [empty_state(_("A section of this pair is no longer in the store; press Next."))]
    sides = []
    for letter, sec, autoplay in (("A", secs[0], True), ("B", secs[1], False)):
        title = sec.get("title") or ""
        sides.append(html.Div(className="judge-pair-side", children=[
            html.Div([html.B(letter, className="judge-pair-letter"), " ", html.Span(str(title)), " · ",
                      html.Span(f"{fmt_time(sec['start_s'])}–{fmt_time(sec['end_s'])}", className="muted")],
                     className="judge-pair-head"),
            section_player(sec, autoplay=autoplay, run_id=None, compact=False, timeline=False,
                           element_id=ids.pair_audio(letter)),
            html.Img(src=spectrogram_url(sec["section_id"]), className="spectrogram",
                     alt=_("spectrogram of section %(letter)s", letter=letter)),
        ]))
    return [
        html.Div(className="detail-head", **{"data-pair-item": pair_key(item)}, children=[
            html.Div(_("Do these two sound like the same kind of section?"), className="judge-context"),
        ]),
        html.Div(sides, className="judge-pair"),
    ]
